"""``livelens serve --rejoin-grace`` / ``LIVELENS_REJOIN_GRACE``: parsed, checked, 60 by default."""

import pytest

from livelens.cli import build_parser, settings_from


def grace(*args: str) -> float:
    return settings_from(build_parser().parse_args(["serve", *args])).rejoin_grace


def test_rejoin_grace_from_the_flag_the_environment_or_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LIVELENS_REJOIN_GRACE", raising=False)
    assert grace() == 60
    assert grace("--rejoin-grace", "3") == 3
    monkeypatch.setenv("LIVELENS_REJOIN_GRACE", "7.5")
    assert grace() == 7.5
    assert grace("--rejoin-grace", "2") == 2


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_a_bad_rejoin_grace_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        grace("--rejoin-grace", value)
    assert "--rejoin-grace" in capsys.readouterr().err
