//! Per-stream packet index state: the highest index seen, a 128-packet replay window
//! behind it, and (for SRTP) the estimate of a packet's 48-bit index from its 16-bit
//! sequence number (RFC 3711 section 3.3.1 and Appendix A).
//!
//! The behaviour is libsrtp's (`srtp_rdbx_*`, default window of 128), so both
//! implementations accept and refuse the same packets.

/// Packets this far behind the highest index are refused as too old.
pub const WINDOW: u64 = 128;

const SEQ_MEDIAN: u64 = 1 << 15;

/// Where an index falls relative to the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Newer than anything seen.
    Ahead,
    /// Inside the window and not seen yet (reordered).
    Fresh,
    /// Inside the window and already seen.
    Duplicate,
    /// Behind the window.
    TooOld,
}

/// The replay state of one stream: bit `k` of `seen` is index `top - k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayWindow {
    top: u64,
    seen: u128,
}

impl ReplayWindow {
    /// A window whose only member is `first`, the first authenticated index.
    #[must_use]
    pub const fn starting_at(first: u64) -> Self {
        Self {
            top: first,
            seen: 1,
        }
    }

    /// The highest index accepted so far.
    #[must_use]
    pub const fn top(&self) -> u64 {
        self.top
    }

    /// The 48-bit SRTP index of a packet carrying `seq`: the candidate nearest the highest
    /// index, with ROC - 1, ROC or ROC + 1. While the highest index is at most 2^15 the ROC
    /// is taken as 0, so an early late packet cannot make the ROC negative.
    #[must_use]
    pub fn estimate(&self, seq: u16) -> u64 {
        let seq = u64::from(seq);
        if self.top <= SEQ_MEDIAN {
            return seq;
        }
        let roc = self.top >> 16;
        let local = self.top & 0xffff;
        let roc = if local < SEQ_MEDIAN {
            if seq > local + SEQ_MEDIAN {
                roc.wrapping_sub(1)
            } else {
                roc
            }
        } else if local - SEQ_MEDIAN > seq {
            roc + 1
        } else {
            roc
        };
        ((roc & 0xffff_ffff) << 16) | seq
    }

    /// Where `index` falls.
    #[must_use]
    pub fn position(&self, index: u64) -> Position {
        if index > self.top {
            return Position::Ahead;
        }
        let back = self.top - index;
        if back >= WINDOW {
            Position::TooOld
        } else if (self.seen >> back) & 1 == 1 {
            Position::Duplicate
        } else {
            Position::Fresh
        }
    }

    /// Records `index` as received (call only after it authenticated).
    pub fn accept(&mut self, index: u64) {
        if index > self.top {
            let shift = index - self.top;
            self.seen = if shift >= WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.top = index;
        } else {
            let back = self.top - index;
            if back < WINDOW {
                self.seen |= 1 << back;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Position, ReplayWindow, WINDOW};

    #[test]
    fn estimate_follows_the_sequence_across_wrap_in_both_directions() {
        let at = |roc: u64, seq: u64| ReplayWindow::starting_at((roc << 16) | seq);
        // Forward wrap: highest 65530 (ROC 0), seq 3 is ROC 1.
        assert_eq!(at(0, 65530).estimate(3), (1 << 16) | 3);
        // A late packet from before the wrap: highest 2 (ROC 1), seq 65533 is ROC 0.
        assert_eq!(at(1, 2).estimate(65533), 65533);
        // Same ROC in the middle.
        assert_eq!(at(5, 40000).estimate(40100), (5 << 16) | 40100);
        assert_eq!(at(5, 40000).estimate(39000), (5 << 16) | 39000);
        // Early in the stream the ROC stays 0 even for a "late" high sequence number.
        assert_eq!(at(0, 100).estimate(65000), 65000);
        assert_eq!(at(0, 0x8000).estimate(2), 2);
        assert_eq!(at(0, 0x8001).estimate(2), 2);
        assert_eq!(at(0, 0x8003).estimate(2), (1 << 16) | 2);
    }

    #[test]
    fn window_accepts_new_and_reordered_once_and_refuses_old() {
        let mut w = ReplayWindow::starting_at(1000);
        assert_eq!(w.position(1000), Position::Duplicate);
        assert_eq!(w.position(1001), Position::Ahead);
        assert_eq!(w.position(999), Position::Fresh);
        w.accept(999);
        assert_eq!(w.position(999), Position::Duplicate);
        assert_eq!(w.position(1000 - (WINDOW - 1)), Position::Fresh);
        assert_eq!(w.position(1000 - WINDOW), Position::TooOld);
        w.accept(1005);
        assert_eq!(w.top(), 1005);
        assert_eq!(w.position(1000), Position::Duplicate);
        assert_eq!(w.position(999), Position::Duplicate);
        assert_eq!(w.position(1003), Position::Fresh);
        // A jump beyond the window forgets everything behind it.
        w.accept(5000);
        assert_eq!(w.position(4999), Position::Fresh);
        assert_eq!(w.position(1005), Position::TooOld);
        // Accepting something too old changes nothing.
        let before = w;
        w.accept(10);
        assert_eq!(w, before);
    }

    #[test]
    fn index_zero_and_the_window_edge() {
        let mut w = ReplayWindow::starting_at(0);
        assert_eq!(w.position(0), Position::Duplicate);
        w.accept(WINDOW - 1);
        assert_eq!(w.position(0), Position::Duplicate);
        w.accept(WINDOW);
        assert_eq!(w.position(0), Position::TooOld);
        assert_eq!(w.position(1), Position::Fresh);
    }
}
