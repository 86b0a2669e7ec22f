//! The last N packets of a source by sequence number, for answering NACKs.

use super::rtp::RtpPacket;

/// A ring indexed by `seq % N`; N divides 65536, so slots line up across the wrap.
#[derive(Debug)]
pub struct History {
    slots: Vec<Option<RtpPacket>>,
}

impl History {
    /// Whether `size` works as a history size: a power of two up to 65536.
    #[must_use]
    pub fn valid_size(size: usize) -> bool {
        size.is_power_of_two() && size <= 65536
    }

    /// An empty history; a size that is not [`History::valid_size`] is rounded to one.
    #[must_use]
    pub fn new(size: usize) -> Self {
        let size = size.clamp(1, 65536).next_power_of_two();
        Self {
            slots: vec![None; size],
        }
    }

    fn slot(&self, seq: u16) -> usize {
        usize::from(seq) % self.slots.len()
    }

    /// Keeps `packet`, replacing whatever shared its slot.
    pub fn put(&mut self, packet: RtpPacket) {
        let slot = self.slot(packet.sequence_number);
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = Some(packet);
        }
    }

    /// The packet with exactly this sequence number, if still kept.
    #[must_use]
    pub fn get(&self, seq: u16) -> Option<&RtpPacket> {
        self.slots
            .get(self.slot(seq))?
            .as_ref()
            .filter(|p| p.sequence_number == seq)
    }

    pub fn clear(&mut self) {
        self.slots.fill(None);
    }
}
