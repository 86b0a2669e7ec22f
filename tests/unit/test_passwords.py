import pytest

from livelens.errors import WeakPassword
from livelens.identity.passwords import HashParameters, PasswordHashing, check_policy

FAST = HashParameters(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1", "at least 8"),
        ("lettersonly", "letters and digits"),
        ("1234567890", "letters and digits"),
        ("a1" * 200, "at most"),
    ],
)
def test_policy_rejects_with_a_clear_reason(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword, match=reason):
        check_policy(password)


@pytest.mark.parametrize("password", ["abcdefg1", "Correct horse 9", "pässwört99"])
def test_policy_accepts(password: str) -> None:
    check_policy(password)


def test_hash_is_argon2id_and_verifies() -> None:
    hashing = PasswordHashing(FAST)
    stored = hashing.hash("abcdefg1")
    assert stored.startswith("$argon2id$")
    assert "abcdefg1" not in stored
    assert hashing.verify(stored, "abcdefg1").ok
    assert not hashing.verify(stored, "abcdefg2").ok


def test_unknown_user_check_runs_a_real_verification_and_fails() -> None:
    hashing = PasswordHashing(FAST)
    assert not hashing.verify(None, "decoy-password-0").ok


def test_stale_parameters_ask_for_rehash() -> None:
    old = PasswordHashing(FAST).hash("abcdefg1")
    current = PasswordHashing(HashParameters(time_cost=2, memory_cost=2048, parallelism=1))
    result = current.verify(old, "abcdefg1")
    assert result.ok
    assert result.needs_rehash
    assert not current.verify(current.hash("abcdefg1"), "abcdefg1").needs_rehash


def test_garbage_hash_does_not_raise() -> None:
    assert not PasswordHashing(FAST).verify("not-a-hash", "abcdefg1").ok


async def test_hashing_runs_off_the_loop_on_its_own_pool_behind_the_loop() -> None:
    """A sign-in storm must not hold up the event loop: hashing runs on a pool with a
    thread per core, each at a lower CPU priority than the loop's thread."""
    import os
    import threading

    from livelens.identity import passwords

    seen: list[tuple[str, int]] = []

    class Watched(PasswordHashing):
        def hash(self, password: str) -> str:
            me = threading.current_thread()
            seen.append((me.name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
            return super().hash(password)

    stored = await Watched(FAST).hash_async("abcdefg1")
    assert (await PasswordHashing(FAST).verify_async(stored, "abcdefg1")).ok
    [(name, niceness)] = seen
    assert name.startswith("livelens-hashing")
    assert niceness > os.getpriority(os.PRIO_PROCESS, 0)
    assert passwords.HASHING_POOL._max_workers == len(os.sched_getaffinity(0))
