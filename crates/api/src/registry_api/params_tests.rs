use axum::http::StatusCode;

use super::*;

fn parse(query: &str) -> Result<ListParams, Problem> {
    ListParams::parse(&pairs(Some(query))?)
}

fn status(query: &str) -> StatusCode {
    use axum::response::IntoResponse;
    parse(query).unwrap_err().into_response().status()
}

#[test]
fn defaults() {
    let params = parse("").unwrap();
    assert_eq!(params.limit, DEFAULT_LIMIT);
    assert!(!params.include_deleted);
    assert_eq!(params.cursor, None);
}

#[test]
fn limits_outside_one_to_a_hundred_are_unprocessable() {
    assert_eq!(parse("limit=1").unwrap().limit, 1);
    assert_eq!(parse("limit=100").unwrap().limit, 100);
    for bad in ["limit=0", "limit=101", "limit=-3", "limit=ten", "limit="] {
        assert_eq!(status(bad), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[test]
fn updated_since_forces_deleted_entries_in() {
    let params = parse("updated_since=2025-08-07T13:15:04.280Z").unwrap();
    assert!(params.include_deleted);
    assert_eq!(
        params.updated_since.unwrap().timestamp_millis(),
        1_754_572_504_280
    );
    assert!(
        parse("updated_since=2025-08-07T13:15:04Z&include_deleted=true")
            .unwrap()
            .include_deleted
    );
    assert_eq!(
        status("updated_since=2025-08-07T13:15:04Z&include_deleted=false"),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(status("updated_since=yesterday"), StatusCode::BAD_REQUEST);
    assert_eq!(
        status("include_deleted=yes"),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[test]
fn cursors_split_at_the_first_colon() {
    let cursor = parse("cursor=io.x%2Fa%3A1.0%3Abuild")
        .unwrap()
        .cursor
        .unwrap();
    assert_eq!(cursor.name, "io.x/a");
    assert_eq!(cursor.version.as_deref(), Some("1.0:build"));
    assert!(cursor.is_before("io.x/a", "1.1"));
    assert!(!cursor.is_before("io.x/a", "1.0"));
    assert!(cursor.is_before("io.x/b", "0.1"));
    let bare = Cursor::parse("io.x/a");
    assert!(!bare.is_before("io.x/a", "9.9"));
    assert!(bare.is_before("io.x/aa", "0"));
    assert_eq!(Cursor::after("io.x/a", "1.0"), "io.x/a:1.0");
}

#[test]
fn search_is_case_insensitive_and_empty_values_are_absent() {
    let params = parse("search=FileSys&version=&cursor=").unwrap();
    assert_eq!(params.search.as_deref(), Some("filesys"));
    assert_eq!(params.version, None);
    assert_eq!(params.cursor, None);
}
