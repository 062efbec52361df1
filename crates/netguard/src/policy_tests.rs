use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an address")
}

fn configured(deny: &[&str], allow: &[&str]) -> NetworkPolicy {
    NetworkPolicy::new(deny, allow).expect("valid networks")
}

fn denying_network(policy: &NetworkPolicy, address: &str) -> Option<String> {
    policy
        .check(ip(address))
        .err()
        .map(|denied| denied.network.to_string())
}

#[test]
fn every_builtin_network_parses() {
    assert_eq!(builtin_entries().len(), BUILTIN_DENIED.len());
}

#[test]
fn defaults_deny_link_local_metadata_and_unspecified() {
    let policy = NetworkPolicy::default();
    for (address, network) in [
        ("169.254.169.254", "169.254.0.0/16"),
        ("169.254.0.1", "169.254.0.0/16"),
        ("fe80::1", "fe80::/10"),
        ("febf:ffff::1", "fe80::/10"),
        ("fd00:ec2::254", "fd00:ec2::254/128"),
        ("fd20:ce::254", "fd20:ce::254/128"),
        ("100.100.100.200", "100.100.100.200/32"),
        ("168.63.129.16", "168.63.129.16/32"),
        ("0.0.0.0", "0.0.0.0/8"),
        ("0.1.2.3", "0.0.0.0/8"),
        ("::", "::/128"),
    ] {
        assert_eq!(
            denying_network(&policy, address).as_deref(),
            Some(network),
            "{address}"
        );
    }
}

#[test]
fn defaults_allow_loopback_private_and_public_addresses() {
    let policy = NetworkPolicy::default();
    for address in [
        "127.0.0.1",
        "127.0.0.2",
        "::1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "100.100.100.201",
        "169.253.255.255",
        "169.255.0.0",
        "fd00:ec2::253",
        "fc00::1",
        "fec0::1",
        "8.8.8.8",
        "2001:db8::1",
    ] {
        assert_eq!(policy.check(ip(address)), Ok(()), "{address}");
    }
}

#[test]
fn ipv6_forms_of_a_denied_ipv4_address_are_denied() {
    let policy = NetworkPolicy::default();
    for address in [
        "::ffff:169.254.169.254",
        "::169.254.169.254",
        "64:ff9b::169.254.169.254",
        "64:ff9b:1::a9fe:a9fe",
        "::ffff:0.0.0.0",
        "::ffff:100.100.100.200",
    ] {
        let denied = policy.check(ip(address)).expect_err(address);
        assert_eq!(denied.address, ip(address));
        let embedded = denied.embedded.expect("the IPv4 address it stands for");
        assert!(embedded.is_ipv4(), "{address}");
        assert!(
            denied.to_string().contains(&embedded.to_string()),
            "{denied}"
        );
    }
    for address in [
        "::ffff:127.0.0.1",
        "::1",
        "64:ff9b::808:808",
        "::ffff:10.0.0.1",
    ] {
        assert_eq!(policy.check(ip(address)), Ok(()), "{address}");
    }
}

#[test]
fn configured_denials_cover_the_ipv6_forms_too() {
    let policy = configured(&["127.0.0.2/32"], &[]);
    assert!(policy.check(ip("127.0.0.2")).is_err());
    assert!(policy.check(ip("::ffff:127.0.0.2")).is_err());
    assert!(policy.check(ip("64:ff9b::7f00:2")).is_err());
    assert_eq!(policy.check(ip("127.0.0.1")), Ok(()));
}

#[test]
fn an_allow_at_least_as_specific_as_a_default_reopens_it() {
    let one = configured(&[], &["169.254.169.254/32"]);
    assert_eq!(one.check(ip("169.254.169.254")), Ok(()));
    assert_eq!(one.check(ip("::ffff:169.254.169.254")), Ok(()));
    assert!(one.check(ip("169.254.169.253")).is_err());

    let whole = configured(&[], &["169.254.0.0/16"]);
    assert_eq!(whole.check(ip("169.254.1.1")), Ok(()));

    let bare = configured(&[], &["fd00:ec2::254"]);
    assert_eq!(bare.check(ip("fd00:ec2::254")), Ok(()));
}

#[test]
fn an_allow_less_specific_than_a_default_does_not_reopen_it() {
    let policy = configured(&[], &["0.0.0.0/0", "::/0"]);
    assert!(policy.check(ip("169.254.169.254")).is_err());
    assert!(policy.check(ip("fd00:ec2::254")).is_err());
    assert_eq!(policy.check(ip("10.0.0.1")), Ok(()));
}

#[test]
fn the_most_specific_configured_network_decides() {
    let policy = configured(&["10.0.0.0/8", "10.1.2.3/32"], &["10.1.0.0/16"]);
    assert_eq!(
        denying_network(&policy, "10.2.0.1").as_deref(),
        Some("10.0.0.0/8")
    );
    assert_eq!(policy.check(ip("10.1.0.1")), Ok(()));
    assert_eq!(
        denying_network(&policy, "10.1.2.3").as_deref(),
        Some("10.1.2.3/32")
    );
    assert_eq!(policy.check(ip("192.168.0.1")), Ok(()));
}

#[test]
fn a_configured_deny_can_close_loopback_and_private_ranges() {
    let policy = configured(&["127.0.0.0/8", "::1/128", "10.0.0.0/8"], &[]);
    for address in ["127.0.0.1", "::1", "::ffff:127.0.0.1", "10.9.9.9"] {
        let denied = policy.check(ip(address)).expect_err(address);
        assert_eq!(denied.rule, Rule::Configured);
    }
}

#[test]
fn messages_name_the_address_the_host_the_network_and_the_way_to_allow_it() {
    let denied = NetworkPolicy::default()
        .check(ip("169.254.169.254"))
        .expect_err("denied")
        .on_host("metadata.example");
    let message = denied.to_string();
    for part in [
        "169.254.169.254",
        "'metadata.example'",
        "169.254.0.0/16",
        "[network] allow_networks",
        "\"169.254.169.254/32\"",
    ] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }

    let configured = configured(&["127.0.0.2/32"], &[]);
    let message = configured
        .check(ip("127.0.0.2"))
        .expect_err("denied")
        .to_string();
    assert!(message.contains("deny_networks"), "{message}");
    assert!(message.contains("127.0.0.2/32"), "{message}");
    assert!(message.contains("allow_networks"), "{message}");
}

#[test]
fn bad_networks_are_refused_with_a_clear_message() {
    for (deny, allow, expected) in [
        (
            vec!["nonsense"],
            vec![],
            "deny_networks: 'nonsense' is not an IP network",
        ),
        (vec!["10.0.0/8"], vec![], "'10.0.0/8' is not an IP network"),
        (
            vec![],
            vec!["10.0.0.0/33"],
            "allow_networks: '10.0.0.0/33' is not an IP network",
        ),
        (
            vec!["fd00::/129"],
            vec![],
            "'fd00::/129' is not an IP network",
        ),
        (vec![""], vec![], "'' is not an IP network"),
        (
            vec!["10.0.0.1/8"],
            vec![],
            "'10.0.0.1/8' has bits set after its prefix; write 10.0.0.0/8 for the network or 10.0.0.1/32",
        ),
        (
            vec!["10.0.0.0/8"],
            vec!["10.0.0.0/8"],
            "10.0.0.0/8 is in both deny_networks and allow_networks",
        ),
    ] {
        let error = NetworkPolicy::new(&deny, &allow).expect_err(expected);
        assert!(error.to_string().contains(expected), "{error}");
    }
}

#[test]
fn configured_lists_are_reported_as_written() {
    let policy = configured(&[" 10.0.0.0/8 ", "127.0.0.2"], &["10.1.0.0/16"]);
    assert_eq!(
        policy.configured(),
        (
            vec!["10.0.0.0/8".to_owned(), "127.0.0.2/32".to_owned()],
            vec!["10.1.0.0/16".to_owned()]
        )
    );
    assert_eq!(NetworkPolicy::default().configured(), (vec![], vec![]));
}
