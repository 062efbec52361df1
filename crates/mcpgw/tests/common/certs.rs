//! Certificates for TLS tests, made by the `openssl` command line: a test CA, server
//! certificates for 127.0.0.1 and client certificates it signs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate authority in a directory of its own.
pub struct TestCa {
    dir: PathBuf,
    serial: std::cell::Cell<u32>,
}

/// A certificate and its key, as PEM files.
pub struct Issued {
    /// The certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA in `dir` (created).
    pub fn new(dir: &Path) -> TestCa {
        std::fs::create_dir_all(dir).unwrap();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=mcpgw test CA",
            "-days",
            "2",
            "-keyout",
            path(&dir.join("ca.key")),
            "-out",
            path(&dir.join("ca.pem")),
        ]);
        TestCa {
            dir: dir.to_owned(),
            serial: std::cell::Cell::new(1),
        }
    }

    /// The CA's certificate (PEM).
    pub fn cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A server certificate for 127.0.0.1 and localhost, written to `cert` and `key` the
    /// way a renewal tool does (each moved into place whole).
    pub fn server_into(&self, cert: &Path, key: &Path) {
        self.issue(
            "/CN=127.0.0.1",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            cert,
            key,
        );
    }

    /// A server certificate for 127.0.0.1 in the CA's directory, named `name`.
    pub fn server(&self, name: &str) -> Issued {
        let issued = self.paths(name);
        self.server_into(&issued.cert, &issued.key);
        issued
    }

    /// A client certificate (extended key usage `clientAuth`) named `name`.
    pub fn client(&self, name: &str) -> Issued {
        let issued = self.paths(name);
        self.issue(
            &format!("/CN={name}"),
            "extendedKeyUsage=clientAuth",
            &issued.cert,
            &issued.key,
        );
        issued
    }

    fn paths(&self, name: &str) -> Issued {
        Issued {
            cert: self.dir.join(format!("{name}.pem")),
            key: self.dir.join(format!("{name}.key")),
        }
    }

    fn issue(&self, subject: &str, extension: &str, cert: &Path, key: &Path) {
        let serial = self.serial.get() + 1;
        self.serial.set(serial);
        let (new_key, request, new_cert, extensions) = (
            self.dir.join("new.key"),
            self.dir.join("new.csr"),
            self.dir.join("new.pem"),
            self.dir.join("new.ext"),
        );
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            path(&new_key),
            "-out",
            path(&request),
        ]);
        std::fs::write(&extensions, format!("{extension}\n")).unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            path(&request),
            "-CA",
            path(&self.cert()),
            "-CAkey",
            path(&self.dir.join("ca.key")),
            "-set_serial",
            &serial.to_string(),
            "-days",
            "1",
            "-extfile",
            path(&extensions),
            "-out",
            path(&new_cert),
        ]);
        std::fs::rename(&new_key, key).unwrap();
        std::fs::rename(&new_cert, cert).unwrap();
    }
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs `openssl` with `args`; panics with its message if it fails.
pub fn openssl(args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The DER of the first certificate in a PEM file.
pub fn der_of(pem: &Path) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(["x509", "-in", path(pem), "-outform", "DER"])
        .output()
        .unwrap();
    assert!(output.status.success());
    output.stdout
}
