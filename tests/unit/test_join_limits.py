"""PIN guessing: hopeless for the guesser, harmless for customers typing the right PIN."""

from livelens.signalling.join import DEFAULT_JOIN_TTL, PIN_DIGITS
from livelens.signalling.ratelimit import JoinLimits, PinTry, network_key


def guess(limits: JoinLimits, ip: str, now: float) -> bool:
    """One wrong PIN: True if it was checked, False if refused."""
    return isinstance(limits.take(ip, now), PinTry)


def right_pin(limits: JoinLimits, ip: str, now: float) -> bool:
    attempt = limits.take(ip, now)
    if isinstance(attempt, PinTry):
        limits.give_back(attempt)
        return True
    return False


def test_guessers_cannot_keep_customers_with_the_right_pin_out() -> None:
    limits = JoinLimits()
    # Guessers on 50 networks try until each is refused: the old single instance-wide
    # budget (200) would be empty now, and every customer refused.
    checked = sum(guess(limits, f"198.51.100.{n}", 0.0) for n in range(50) for _ in range(10))
    assert 60 < checked <= 50 * 5
    assert not guess(limits, "198.51.100.1", 0.0)
    customers = [right_pin(limits, f"203.0.113.{n}", 1.0) for n in range(20)]
    assert all(customers)
    # ...and a customer who mistyped once still gets a second try.
    assert guess(limits, "192.0.2.7", 2.0)
    assert right_pin(limits, "192.0.2.7", 2.0)


def test_a_guessers_chance_is_bounded_over_a_pins_lifetime() -> None:
    limits = JoinLimits()
    checked, now, network = 0, 0.0, 0
    while now < DEFAULT_JOIN_TTL:  # a new network for every try: the worst case
        network += 1
        checked += guess(limits, f"10.{network // 65536 % 256}.{network // 256 % 256}."
                                 f"{network % 256}", now)  # fmt: skip
        now += 0.01
    assert checked <= 1_500
    assert checked / 10**PIN_DIGITS < 0.0015  # per waiting session


def test_right_pins_are_not_counted_and_refusals_say_how_long_to_wait() -> None:
    limits = JoinLimits()
    for _ in range(50):  # a shared office address: many customers, all with the right PIN
        assert right_pin(limits, "192.0.2.1", 0.0)
    for _ in range(5):
        assert guess(limits, "192.0.2.1", 0.0)
    wait = limits.take("192.0.2.1", 0.0)
    assert wait == 120
    assert limits.take("192.0.2.1", 60.0) == 60
    assert guess(limits, "192.0.2.1", 120.0)


def test_ipv6_clients_are_limited_per_site() -> None:
    assert network_key("2001:db8:1:2:3:4:5:6") == network_key("2001:db8:1:ff:ffff::1")
    assert network_key("2001:db8:1:2::1") == "2001:db8:1::/56"
    assert network_key("2001:db8:2::1") != network_key("2001:db8:1::1")
    assert network_key("::ffff:192.0.2.1") == "192.0.2.1"
    limits = JoinLimits()
    for host in range(5):  # one host with a whole /64 cannot dodge the limit
        assert guess(limits, f"2001:db8:1:2::{host + 1}", 0.0)
    assert not guess(limits, "2001:db8:1:3::1", 0.0)
