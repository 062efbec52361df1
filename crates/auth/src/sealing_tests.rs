use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::*;

#[test]
fn sealed_values_open_only_in_their_context_and_never_show_the_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keyring::load(dir.path(), None, None).unwrap();
    let sealed = keys.seal("servers.headers", "Bearer s3cret").unwrap();
    assert!(sealed.starts_with(&format!("enc:v1:{}:", keys.active_id())));
    assert!(!sealed.contains("s3cret"));
    assert_ne!(
        sealed,
        keys.seal("servers.headers", "Bearer s3cret").unwrap(),
        "fresh nonce"
    );
    assert_eq!(
        keys.open("servers.headers", &sealed).unwrap(),
        "Bearer s3cret"
    );
    assert!(matches!(
        keys.open("servers.env", &sealed),
        Err(SealingError::Corrupt)
    ));
    let mut altered = sealed.clone();
    altered.pop();
    altered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
    assert!(keys.open("servers.headers", &altered).is_err());
    // Values written before sealing existed read as they are.
    assert_eq!(keys.open("servers.headers", "plain").unwrap(), "plain");
    assert!(keys.needs_sealing("plain"));
    assert!(!keys.needs_sealing(&sealed));
}

#[test]
fn the_key_file_is_private_and_rotation_keeps_old_keys() {
    let dir = tempfile::tempdir().unwrap();
    let first = Keyring::load(dir.path(), None, None).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let old = first.seal("c", "v").unwrap();
    let again = Keyring::load(dir.path(), None, None).unwrap();
    assert_eq!(
        again.active_id(),
        first.active_id(),
        "the file is read, not replaced"
    );
    let id = Keyring::rotate_file(dir.path()).unwrap();
    let rotated = Keyring::load(dir.path(), None, None).unwrap();
    assert_eq!(rotated.active_id(), id);
    assert_ne!(id, first.active_id());
    assert_eq!(rotated.open("c", &old).unwrap(), "v", "old keys still open");
    assert!(rotated.needs_sealing(&old), "sealed with an older key");
}

#[test]
fn keys_from_the_environment_win_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = STANDARD.encode([7u8; 32]);
    let old = STANDARD.encode([9u8; 32]);
    let by_old = Keyring::from_keys(&[vec![9u8; 32]]).unwrap();
    let sealed = by_old.seal("c", "v").unwrap();
    let keys = Keyring::load(dir.path(), Some(&key), Some(&old)).unwrap();
    assert!(
        !dir.path().join(KEY_FILE).exists(),
        "no file when the key is given"
    );
    assert_eq!(keys.open("c", &sealed).unwrap(), "v");
    assert!(keys.needs_sealing(&sealed));
    let unknown = Keyring::from_keys(&[vec![1u8; 32]]).unwrap();
    assert!(matches!(
        unknown.open("c", &sealed),
        Err(SealingError::UnknownKey(_))
    ));
    for bad in ["short", "not base64!", &STANDARD.encode([1u8; 16])] {
        assert!(matches!(
            Keyring::load(dir.path(), Some(bad), None),
            Err(SealingError::BadKey(_))
        ));
    }
}
