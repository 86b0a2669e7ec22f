//! Recording, sans-IO: the relay's RTP packets to a WebM file, sealed as it is written.
//!
//! The pipeline, one packet at a time and without decoding anything:
//! RTP packet → [`depacketize::TrackInput`] (reorder, [`vp8`] / [`opus`] frames, gaps)
//! → [`timeline::Timeline`] (RTP clocks to one millisecond timeline)
//! → [`webm::WebmMuxer`] (Matroska clusters of SimpleBlocks)
//! → [`seal::ChunkWriter`] (AES-256-GCM chunks). [`Recorder`] runs them together.
//!
//! | module        | what                                                          |
//! |---------------|---------------------------------------------------------------|
//! | `reorder`     | sequence order, the wait for retransmissions, what to NACK    |
//! | `vp8`         | RFC 7741 descriptor, key frames and size, frame assembly      |
//! | `opus`        | RFC 7587 frames, the `OpusHead`                               |
//! | `depacketize` | one track: SSRC changes, restarts, counters                   |
//! | `timeline`    | RTP timestamps to ms, arrival alignment, sender-report sync   |
//! | `ebml`        | EBML element writing                                          |
//! | `webm`        | the live WebM muxer and its end-of-file patches               |
//! | `seal`        | the sealed chunk format: writer and range reader              |
//! | `recorder`    | the whole pipeline for one recording                          |
//!
//! H.264 and VP9 are not depacketised yet: a recording takes VP8 video and Opus audio.

pub mod depacketize;
pub mod ebml;
pub mod opus;
mod recorder;
pub mod reorder;
pub mod seal;
pub mod timeline;
pub mod vp8;
pub mod webm;

#[cfg(test)]
mod tests;

pub use recorder::{Recorder, RecorderConfig, RecorderStats, KEYFRAME_INTERVAL_MS};
