"""``livelens serve`` options for alerts: ``--alert-webhook``, ``--syslog`` and
``--alert-hooks-private`` (or their LIVELENS_* variables), checked when parsed."""

import pytest

from livelens.cli import build_parser, settings_from
from livelens.config import Settings

VARIABLES = ("ALERT_WEBHOOK", "ALERT_WEBHOOK_SECRET", "SYSLOG", "ALERT_HOOKS_PRIVATE")


def serve(*args: str) -> Settings:
    return settings_from(build_parser().parse_args(["serve", *args]))


@pytest.fixture(autouse=True)
def no_alert_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(f"LIVELENS_{name}", raising=False)


def test_no_alerts_by_default() -> None:
    settings = serve()
    assert (settings.alert_webhook, settings.alert_webhook_secret, settings.syslog) == (
        None, None, None)  # fmt: skip
    assert settings.alert_hooks_private is False


def test_alert_options_from_flags() -> None:
    settings = serve("--alert-webhook", "https://siem.example.com/x", "--syslog",
                     "udp://127.0.0.1:5514", "--alert-hooks-private", "yes")  # fmt: skip
    assert settings.alert_webhook == "https://siem.example.com/x"
    assert settings.syslog == "udp://127.0.0.1:5514"
    assert settings.alert_hooks_private is True


def test_alert_options_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELENS_ALERT_WEBHOOK", "http://10.0.0.5:8080/alerts")
    monkeypatch.setenv("LIVELENS_ALERT_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("LIVELENS_SYSLOG", "/dev/log")
    monkeypatch.setenv("LIVELENS_ALERT_HOOKS_PRIVATE", "true")
    settings = serve()
    assert settings.alert_webhook == "http://10.0.0.5:8080/alerts"
    assert settings.alert_webhook_secret == "s3cret"
    assert settings.syslog == "/dev/log"
    assert settings.alert_hooks_private is True


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--alert-webhook", "ftp://siem.example.com/"), ("--alert-webhook", "https://u:p@x.example/"),
     ("--syslog", "syslog.example.com"), ("--syslog", "udp://h:70000"),
     ("--alert-hooks-private", "maybe")],
)  # fmt: skip
def test_bad_alert_options_are_refused(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        serve(flag, value)
    assert flag in capsys.readouterr().err
