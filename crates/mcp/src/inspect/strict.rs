//! A validating pass over JSON that rejects objects with duplicate keys.
//!
//! serde_json keeps the last of two equal keys; other parsers keep the first. If the
//! gateway and a server disagree on which `name` a `tools/call` carries, authorisation
//! can be bypassed, so the gateway refuses such bodies outright. This pass builds nothing:
//! it walks the document and remembers only the keys of the object it is in.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// Objects with at most this many keys are checked by linear scan (no hashing).
const LINEAR_SCAN_KEYS: usize = 16;

/// Validates `body`: well-formed JSON without duplicate object keys.
pub fn check_no_duplicate_keys(body: &[u8]) -> Result<(), serde_json::Error> {
    walk(body, NoDuplicates { refuse: true })
}

/// Validates `body` as JSON only, as strictly as `serde_json::Value` reads it (UTF-8 and
/// escapes of every string, the range of every number). [`check_no_duplicate_keys`]
/// stops at the first duplicate key; this tells whether the rest is JSON at all.
pub fn check_well_formed(body: &[u8]) -> Result<(), serde_json::Error> {
    walk(body, NoDuplicates { refuse: false })
}

fn walk(body: &[u8], visitor: NoDuplicates) -> Result<(), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    visitor.deserialize(&mut deserializer)?;
    deserializer.end()
}

/// Visits any JSON value, failing on the first duplicate key when `refuse` is set.
#[derive(Clone, Copy)]
struct NoDuplicates {
    /// Whether a duplicate key is an error (else keys are only read).
    refuse: bool,
}

impl<'de> DeserializeSeed<'de> for NoDuplicates {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NoDuplicates {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut few: Vec<Cow<'de, str>> = Vec::new();
        let mut many: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if !self.refuse {
                map.next_value_seed(self)?;
                continue;
            }
            let duplicate = if many.is_empty() && few.len() < LINEAR_SCAN_KEYS {
                let seen = few.contains(&key);
                few.push(key.clone());
                seen
            } else {
                if many.is_empty() {
                    many.extend(few.drain(..));
                }
                !many.insert(key.clone())
            };
            if duplicate {
                return Err(de::Error::custom(format_args!("duplicate key \"{key}\"")));
            }
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

/// Reads an object key without copying it when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_json_and_rejects_duplicates_at_any_depth() {
        assert!(
            check_no_duplicate_keys(br#"{"a":1,"b":[{"a":2},{"a":3}],"c":{"d":null}}"#).is_ok()
        );
        let top = check_no_duplicate_keys(br#"{"name":"a","name":"b"}"#).unwrap_err();
        assert!(top.to_string().contains("duplicate key \"name\""), "{top}");
        assert!(check_no_duplicate_keys(br#"{"params":{"x":{"k":1,"k":2}}}"#).is_err());
        // Escapes do not hide a duplicate.
        assert!(check_no_duplicate_keys(br#"{"name":1,"n\u0061me":2}"#).is_err());
        let many: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        assert!(check_no_duplicate_keys(format!("{{{many}\"k3\":0}}").as_bytes()).is_err());
        assert!(check_no_duplicate_keys(format!("{{{many}\"z\":0}}").as_bytes()).is_ok());
        assert!(check_no_duplicate_keys(b"{\"a\":1} trailing").is_err());
    }
}
