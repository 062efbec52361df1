//! Fuzz target: arbitrary bytes as a `scopes.yml`.
//!
//! `Policy::parse` reads a file an operator may get wrong in every way YAML allows
//! (anchors, tags, deep nesting, odd scalars, duplicate keys, invalid UTF-8 written by an
//! editor), and a reload must refuse a bad file with an error, never take the gateway down.
//! So: parsing must return, never panic or hang; an error must name a real place; and a
//! policy that parsed must survive every decision function (`scopes_of`, `decide`,
//! `decide_server_access`, `decide_ui`, `tool_filter`, `lint`) asked about names taken
//! from the file itself, with the relations checked in `mcpgw_fuzz::policy::exercise`.
//!
//! Bytes that are not UTF-8 are read lossily (as a file read with replacement characters
//! would be), so that no input is wasted.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpgw_fuzz::policy::{check_error, exercise, words};
use mcpgw_policy::Policy;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Policy::parse(&text) {
        Ok(policy) => exercise(policy, &words(&text)),
        Err(error) => check_error(&text, &error),
    }
});
