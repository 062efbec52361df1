//! The `scopes.yml` file as written: what serde reads, before any meaning is given to it.
//!
//! The top level is one mapping whose keys decide the shape of their values: `UI-Scopes`
//! and `group_mappings` are mappings, every other key is a scope holding a list of
//! entries. A custom visitor reads it in file order, so that errors point at the right
//! line and scopes are tried in the order the file gives them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

/// The reserved key of the registry permissions.
pub const UI_SCOPES: &str = "UI-Scopes";
/// The reserved key of the group-to-scopes mapping.
pub const GROUP_MAPPINGS: &str = "group_mappings";

/// A list of names as written; YAML's empty value (`key:`) is `None`.
pub type Names = Option<Vec<String>>;

/// One UI role's permissions: permission → server names.
pub type RawPermissions = BTreeMap<String, Names>;

/// The whole file.
#[derive(Debug, Default)]
pub struct ScopesFile {
    /// `UI-Scopes`: scope → permission → server names (or `all`), in file order.
    pub ui_scopes: Vec<(String, RawPermissions)>,
    /// `group_mappings`: group → scopes, in file order.
    pub group_mappings: Vec<(String, Names)>,
    /// Every other key: scope → entries, in file order.
    pub scopes: Vec<(String, Vec<RawEntry>)>,
}

/// One `{server, methods, tools}` entry of a scope.
#[derive(Debug, Default, Deserialize)]
pub struct RawEntry {
    /// The server's path, with or without slashes, or a pattern.
    #[serde(default)]
    pub server: Option<String>,
    /// Methods this entry allows.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// Tool names (and prompt names, resource URIs) this entry allows.
    #[serde(default)]
    pub tools: Option<Vec<String>>,
    /// mcpgw's extension: methods and names refused whatever else allows them.
    #[serde(default)]
    pub deny: Option<Vec<String>>,
    /// Keys the gateway does not use (the Python registry's `agents`, comments as keys…),
    /// kept so that `policy lint` can name them.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

impl<'de> Deserialize<'de> for ScopesFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FileVisitor)
    }
}

struct FileVisitor;

impl<'de> Visitor<'de> for FileVisitor {
    type Value = ScopesFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of UI-Scopes, group_mappings and scopes")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<ScopesFile, E> {
        Ok(ScopesFile::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScopesFile, A::Error> {
        let mut file = ScopesFile::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                UI_SCOPES => {
                    let value: Option<Vec<(String, Option<Permissions>)>> = map
                        .next_value::<Option<Ordered<Option<Permissions>>>>()?
                        .map(|ordered| ordered.0);
                    for (scope, permissions) in value.unwrap_or_default() {
                        file.ui_scopes
                            .push((scope, permissions.map(|p| p.0).unwrap_or_default()));
                    }
                }
                GROUP_MAPPINGS => {
                    let value = map.next_value::<Option<Ordered<Option<Vec<String>>>>>()?;
                    file.group_mappings = value.map(|ordered| ordered.0).unwrap_or_default();
                }
                _ => {
                    let entries = map.next_value::<Option<Vec<RawEntry>>>()?;
                    file.scopes.push((key, entries.unwrap_or_default()));
                }
            }
        }
        Ok(file)
    }
}

/// One scope's registry permissions: permission → names.
struct Permissions(RawPermissions);

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Permissions)
    }
}

/// A mapping read in file order (serde's maps would sort or hash it).
struct Ordered<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<V>, A::Error> {
                let mut items = Vec::new();
                while let Some(entry) = map.next_entry::<String, V>()? {
                    items.push(entry);
                }
                Ok(Ordered(items))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(std::marker::PhantomData))
    }
}
