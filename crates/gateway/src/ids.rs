//! Random identifiers the gateway hands out (session ids).

use rand::RngCore;

/// 128 random bits as 32 lowercase hex digits: unguessable, and safe in headers and URLs.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
