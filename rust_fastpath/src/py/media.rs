//! `livelens.media.streams.MediaLine` (and `Codec`) objects read into the relay's
//! m-lines, for `Relay.add_leg` and `MediaSocket.add_leg` alike: once per leg, never per
//! packet.

use pyo3::prelude::*;

use super::error::{Error, Result};
use crate::relay::{Codec, MediaKind, MediaLine};

/// A Python int in `0..=max`, else `ValueError` naming `what`.
pub fn int_in<T: TryFrom<u64>>(value: &Bound<'_, PyAny>, max: u64, what: &str) -> Result<T> {
    let out_of_range = || Error::Argument(format!("{what} out of range"));
    let n: u64 = value.extract().map_err(|_| out_of_range())?;
    if n > max {
        return Err(out_of_range());
    }
    T::try_from(n).map_err(|_| out_of_range())
}

fn optional_int_in<T: TryFrom<u64>>(
    value: &Bound<'_, PyAny>,
    max: u64,
    what: &str,
) -> Result<Option<T>> {
    if value.is_none() {
        Ok(None)
    } else {
        int_in(value, max, what).map(Some)
    }
}

fn ssrc(object: &Bound<'_, PyAny>, name: &str) -> Result<Option<u32>> {
    optional_int_in(&object.getattr(name)?, u64::from(u32::MAX), "SSRC")
}

/// `"audio"` or `"video"`.
pub fn media_kind(name: &str) -> Result<MediaKind> {
    MediaKind::from_name(name)
        .ok_or_else(|| Error::Argument(format!("unknown media kind '{name}'")))
}

fn codec(object: &Bound<'_, PyAny>) -> Result<Codec> {
    let format_key = object
        .getattr("format_key")?
        .try_iter()?
        .map(|item| item?.extract::<String>())
        .collect::<PyResult<Vec<String>>>()?;
    Ok(Codec {
        payload_type: int_in(&object.getattr("payload_type")?, 127, "payload type")?,
        mime_type: object.getattr("mime_type")?.extract()?,
        clock_rate: int_in(
            &object.getattr("clock_rate")?,
            u64::from(u32::MAX),
            "clock rate",
        )?,
        channels: optional_int_in(
            &object.getattr("channels")?,
            u64::from(u32::MAX),
            "channels",
        )?,
        format_key,
        rtx_apt: optional_int_in(&object.getattr("rtx_apt")?, 127, "payload type")?,
    })
}

fn media_line(object: &Bound<'_, PyAny>) -> Result<MediaLine> {
    let codecs = object
        .getattr("codecs")?
        .try_iter()?
        .map(|item| codec(&item?))
        .collect::<Result<Vec<Codec>>>()?;
    let extensions = object
        .getattr("extensions")?
        .call_method0("items")?
        .try_iter()?
        .map(|item| {
            let (uri, id): (String, Bound<'_, PyAny>) = item?.extract()?;
            let id: u8 = int_in(&id, 255, "header extension id")?;
            Ok((uri, id))
        })
        .collect::<Result<Vec<(String, u8)>>>()?;
    Ok(MediaLine {
        kind: media_kind(&object.getattr("kind")?.extract::<String>()?)?,
        mid: object.getattr("mid")?.extract()?,
        codecs,
        extensions,
        recv_ssrc: ssrc(object, "recv_ssrc")?,
        recv_rtx_ssrc: ssrc(object, "recv_rtx_ssrc")?,
        send_ssrc: int_in(&object.getattr("send_ssrc")?, u64::from(u32::MAX), "SSRC")?,
        send_rtx_ssrc: ssrc(object, "send_rtx_ssrc")?,
        cname: object.getattr("cname")?.extract()?,
        receives: object.getattr("receives")?.is_truthy()?,
        sends: object.getattr("sends")?.is_truthy()?,
    })
}

/// Every m-line of an iterable of `MediaLine`s.
pub fn media_lines(media: &Bound<'_, PyAny>) -> Result<Vec<MediaLine>> {
    media.try_iter()?.map(|line| media_line(&line?)).collect()
}
