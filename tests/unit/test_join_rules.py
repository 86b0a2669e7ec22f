from livelens.signalling import join
from livelens.signalling.ratelimit import KeyedLimiter, TokenBucket


def test_tokens_are_long_random_and_url_safe() -> None:
    tokens = {join.new_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert join.looks_like_token(token)
        assert len(token) >= 43  # 32 bytes of randomness, base64url


def test_pins_are_six_digits_and_normalised() -> None:
    pin = join.new_pin()
    assert len(pin) == 6 and pin.isdigit()
    assert join.normalise_pin("123 456") == "123456"
    assert join.normalise_pin("123-456") == "123456"
    for bad in ["12345", "1234567", "12345a", "١٢٣٤٥٦"]:
        assert join.normalise_pin(bad) is None


def test_keyed_hash_depends_on_secret_and_kind() -> None:
    a = join.keyed_hash(b"k1", "pin", "123456")
    assert a != join.keyed_hash(b"k2", "pin", "123456")
    assert a != join.keyed_hash(b"k1", "token", "123456")
    assert "123456" not in a


def test_token_bucket_refills_over_time() -> None:
    bucket = TokenBucket(capacity=2, refill_per_second=1)
    assert bucket.take(0.0) and bucket.take(0.0)
    assert not bucket.take(0.5)
    assert bucket.take(1.5)


def test_keyed_limiter_separates_keys_and_bounds_memory() -> None:
    limiter = KeyedLimiter(capacity=1, per_second=0.01, max_keys=10)
    assert limiter.allow("1.2.3.4", 0.0)
    assert not limiter.allow("1.2.3.4", 1.0)
    assert limiter.allow("5.6.7.8", 1.0)
    for i in range(100):
        limiter.allow(f"ip{i}", 2.0)
    assert len(limiter._buckets) <= 10
