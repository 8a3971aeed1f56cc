"""One size rule set for every CLI: the same text is accepted or refused, with the same words, by
`synesthete-render` and `synesthete-live` (and a session log's sizes go through the same parser)."""

import pytest

from synesthete.frame_size import MAX_SIDE, SizeError, even_size, parse_size
from synesthete.render_cli import main as render_main
from synesthete_live.cli import main as live_main


@pytest.mark.parametrize("text, size", [("1280x720", (1280, 720)), ("16x16", (16, 16)), (" 1281X721 ", (1281, 721)),
                                        (f"{MAX_SIDE}x16", (MAX_SIDE, 16))])
def test_good_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text, words", [("big", "WIDTHxHEIGHT"), ("1280x720x3", "WIDTHxHEIGHT"),
                                         ("1280x", "WIDTHxHEIGHT"), (f"{MAX_SIDE + 2}x720", "out of range"),
                                         ("15x720", "out of range"), ("-2x720", "out of range")])
def test_bad_sizes_name_the_rule(text, words):
    with pytest.raises(SizeError, match=words):
        parse_size(text)


def test_mp4_sizes_round_down_to_even():
    assert even_size(1281, 721) == (1280, 720) and even_size(640, 360) == (640, 360)


@pytest.mark.parametrize("text, words", [("20000x720", "out of range (16..16384"), ("2x2", "out of range"),
                                         ("wide", "WIDTHxHEIGHT")])
@pytest.mark.parametrize("flag", ["--size", "--render-size", "--record-size"])
def test_both_clis_refuse_the_same_sizes_with_the_same_words(flag, text, words, capsys, tmp_path):
    errors = []
    runs = [(live_main, [flag, text, "--headless"])]
    if flag == "--size":
        runs.append((render_main, ["in.wav", "-o", str(tmp_path / "x.mp4"), flag, text]))
    for main, args in runs:
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code == 2
        err = [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln]
        assert len(err) == 1 and words in err[0], err
        errors.append(err[0].split("error: ", 1)[1])
    assert len(set(errors)) == 1, errors
