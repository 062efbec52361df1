//! The authenticated caller.

/// Who made a request, as far as authentication can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable identifier of the caller (`admin`, a JWT `sub`, a client id …).
    pub subject: String,
    /// Admins may do everything; the access-control layer decides for everyone else.
    pub is_admin: bool,
    /// Groups the caller belongs to, as its credential states them.
    pub groups: Vec<String>,
}

impl Principal {
    /// The holder of the admin token.
    pub fn admin() -> Self {
        Principal {
            subject: "admin".to_owned(),
            is_admin: true,
            groups: Vec::new(),
        }
    }
}
