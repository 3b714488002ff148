//! Unguessable values from the operating system's CSPRNG.

use thiserror::Error;

#[derive(Debug, Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(String);

/// Fills `N` bytes from the OS CSPRNG.
///
/// # Errors
/// When the OS cannot provide randomness (a broken sandbox); callers must not fall back to a weaker source.
pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| RandomError(e.to_string()))?;
    Ok(buf)
}
