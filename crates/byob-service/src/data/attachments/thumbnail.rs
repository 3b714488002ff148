//! Thumbnails of raster images: at most 256 px on a side, PNG. The decoder runs under limits (dimensions read
//! from the header first, then a cap on what decoding may allocate), so a decompression bomb is refused before
//! it allocates; decoding runs on a blocking thread, a few at a time.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

/// The longest side of a thumbnail.
pub(super) const SIDE: u32 = 256;

/// Types byob makes thumbnails of.
pub(super) const TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Limits on what byob decodes.
#[derive(Debug, Clone, Copy)]
pub struct ThumbnailLimits {
    /// The most pixels an image may have (width × height) to get a thumbnail.
    pub max_pixels: u64,
    /// The largest file read to make one.
    pub max_source_bytes: u64,
}

impl Default for ThumbnailLimits {
    /// 25 megapixels (a 6,000 × 4,000 photo), files up to 32 MiB: one decode holds at most 200 MB.
    fn default() -> Self {
        Self { max_pixels: 25_000_000, max_source_bytes: 32 * 1024 * 1024 }
    }
}

/// A PNG thumbnail of `bytes`, or why there is none.
pub(super) fn render(bytes: &[u8], media_type: &str, limits: ThumbnailLimits) -> Result<Vec<u8>, String> {
    let format = ImageFormat::from_mime_type(media_type).ok_or_else(|| format!("no thumbnails of `{media_type}`"))?;
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| format!("the image's header is unreadable: {e}"))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(format!("{width} × {height} is over {} pixels", limits.max_pixels));
    }
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(width);
    decoder_limits.max_image_height = Some(height);
    // Eight bytes a pixel covers 16-bit RGBA; animations decode their first frame only.
    decoder_limits.max_alloc = Some(pixels.saturating_mul(8).saturating_add(1024 * 1024));
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits);
    let image = reader.decode().map_err(|e| format!("the image could not be decoded within byob's limits: {e}"))?;
    let thumbnail = image.thumbnail(SIDE, SIDE);
    let mut out = Vec::new();
    thumbnail
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .map_err(|e| format!("the thumbnail could not be encoded: {e}"))?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut out = Vec::new();
        image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn thumbnails_fit_in_256_pixels() {
        let thumb = render(&png(1024, 512), "image/png", ThumbnailLimits::default()).unwrap();
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (256, 128));
    }

    #[test]
    fn images_over_the_pixel_limit_get_none() {
        let limits = ThumbnailLimits { max_pixels: 100 * 100, ..ThumbnailLimits::default() };
        assert!(render(&png(200, 200), "image/png", limits).unwrap_err().contains("pixels"));
        assert!(render(b"not an image", "image/png", ThumbnailLimits::default()).is_err());
    }
}
