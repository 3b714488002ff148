//! The private network of the connectivity tests, on loopback: a DNS server whose answers the test sets, a
//! SOCKS5 and an HTTP CONNECT proxy, a TLS server with a certificate for names of the test's choosing, and
//! OpenSSH's server (Debian's package) with the test's own host key and `authorized_keys`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use hickory_proto::{
    op::{Message, MessageType},
    rr::{RData, Record, rdata::A},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream, UdpSocket},
};

/// A server's task, stopped when its owner is dropped.
struct Background(tokio::task::JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type Counter = Arc<std::sync::atomic::AtomicUsize>;

/// Accepts connections on loopback and hands each to `serve` with the counter of tunnels opened (which `serve`
/// counts as soon as its tunnel stands, so a test reads it without waiting for connections to end).
async fn serve_counting<F, Fut>(serve: F) -> (SocketAddr, Counter, Background)
where
    F: Fn(TcpStream, Counter) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let carried = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = carried.clone();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(serve(client, count.clone()));
        }
    });
    (addr, carried, Background(task))
}

/// A DNS server on loopback answering A queries from a table the test changes at will.
pub struct DnsServer {
    pub addr: SocketAddr,
    answers: Arc<Mutex<HashMap<String, Ipv4Addr>>>,
    _task: Background,
}

impl DnsServer {
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let answers: Arc<Mutex<HashMap<String, Ipv4Addr>>> = Arc::default();
        let table = answers.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
                let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
                reply.metadata.message_type = MessageType::Response;
                reply.metadata.authoritative = true;
                for q in &query.queries {
                    reply.add_query(q.clone());
                    let name = q.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
                    let found = table.lock().unwrap().get(&name).copied();
                    if let (Some(ip), hickory_proto::rr::RecordType::A) = (found, q.query_type()) {
                        reply.add_answer(Record::from_rdata(q.name().clone(), 1, RData::A(A(ip))));
                    }
                }
                if let Ok(bytes) = reply.to_vec() {
                    let _ = socket.send_to(&bytes, from).await;
                }
            }
        });
        Self { addr, answers, _task: Background(task) }
    }

    /// Answers `name` with `ip` from now on.
    pub fn answer(&self, name: &str, ip: Ipv4Addr) {
        self.answers.lock().unwrap().insert(name.to_ascii_lowercase(), ip);
    }
}

/// A minimal SOCKS5 proxy (no authentication, CONNECT only) counting the connections it carried.
pub struct Socks5Proxy {
    pub addr: SocketAddr,
    /// Tunnels opened so far.
    pub carried: Counter,
    _task: Background,
}

impl Socks5Proxy {
    pub async fn start() -> Self {
        let (addr, carried, task) = serve_counting(socks5).await;
        Self { addr, carried, _task: task }
    }
}

async fn socks5(mut client: TcpStream, opened: Counter) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods).await?;
    client.write_all(&[5, 0]).await?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let len = client.read_u8().await?;
            let mut name = vec![0u8; usize::from(len)];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).to_string()
        }
        _ => return Err(std::io::Error::other("address type")),
    };
    let port = client.read_u16().await?;
    let mut upstream = match TcpStream::connect((host.as_str(), port)).await {
        Ok(s) => s,
        Err(e) => {
            client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
            return Err(e);
        }
    };
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// A minimal HTTP CONNECT proxy counting the tunnels it opened; with `refuse`, it answers 403 to every one.
pub struct ConnectProxy {
    pub addr: SocketAddr,
    /// Tunnels opened so far.
    pub carried: Counter,
    _task: Background,
}

impl ConnectProxy {
    pub async fn start(refuse: bool) -> Self {
        let (addr, carried, task) = serve_counting(move |client, opened| connect(client, refuse, opened)).await;
        Self { addr, carried, _task: task }
    }
}

async fn connect(mut client: TcpStream, refuse: bool, opened: Counter) -> std::io::Result<()> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(client.read_u8().await?);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let target = text.split_whitespace().nth(1).unwrap_or_default().to_string();
    if refuse || !text.starts_with("CONNECT ") {
        client.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n").await?;
        return Err(std::io::Error::other("refused"));
    }
    let mut upstream = TcpStream::connect(target.as_str()).await?;
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await?;
    opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// A TLS server whose self-signed certificate (made by openssl) is for `names`; it completes handshakes and
/// closes.
pub struct TlsServer {
    pub addr: SocketAddr,
    _task: Background,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    pub async fn start(names: &[&str]) -> Self {
        use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
        use tokio_rustls::rustls;
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let san = names.iter().map(|n| format!("DNS:{n}")).collect::<Vec<_>>().join(",");
        let status = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", &format!("/CN={}", names[0]), "-addext", &format!("subjectAltName={san}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl");
        assert!(status.success());
        let certs = vec![CertificateDer::from_pem_file(&cert).unwrap()];
        let key = PrivateKeyDer::from_pem_file(&key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        Self { addr, _task: Background(task), _dir: dir }
    }
}

/// OpenSSH's server on loopback, run by the test as its own user with its own host key and authorized_keys.
pub struct Sshd {
    pub port: u16,
    pub user: String,
    child: std::process::Child,
    dir: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new Ed25519 host key in `dir`, and its fingerprint as `ssh-keygen -lf` prints it.
pub fn host_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let out = std::process::Command::new("ssh-keygen").arg("-lf").arg(&path).output().expect("ssh-keygen -lf");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let fingerprint = text.split_whitespace().nth(1).expect("a fingerprint").to_string();
    (path, fingerprint)
}

impl Sshd {
    /// Starts sshd with `host_key` and `authorized_keys` (the file's whole text); waits until it accepts.
    pub async fn start(dir: &Path, host_key: &Path, authorized_keys: &str) -> Self {
        Self::start_on(dir, host_key, authorized_keys, None).await
    }

    /// As [`Self::start`], on `port` when given (a bastion restarted with another host key).
    pub async fn start_on(dir: &Path, host_key: &Path, authorized_keys: &str, port: Option<u16>) -> Self {
        let sshd = std::env::var("BYOB_TEST_SSHD").unwrap_or_else(|_| "/usr/sbin/sshd".into());
        let user = String::from_utf8(std::process::Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let keys = dir.join("authorized_keys");
        std::fs::write(&keys, authorized_keys).unwrap();
        // sshd checks these permissions even with StrictModes off for the host key.
        set_mode(host_key, 0o600);
        set_mode(&keys, 0o600);
        if nix_is_root() {
            std::fs::create_dir_all("/run/sshd").ok();
        }
        for _ in 0..20 {
            let port = port.unwrap_or_else(free_port);
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "ListenAddress 127.0.0.1:{port}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile none\nUsePAM no\n\
                     StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nAllowTcpForwarding yes\n\
                     LogLevel ERROR\n",
                    host_key.display(),
                    keys.display()
                ),
            )
            .unwrap();
            let child = std::process::Command::new(&sshd)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("sshd (Debian's openssh-server)");
            let mut sshd = Self { port, user: user.clone(), child, dir: dir.to_path_buf() };
            for _ in 0..100 {
                if let Ok(Some(_)) = sshd.child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return sshd;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let _ = sshd.child.kill();
        }
        panic!("sshd did not start");
    }

    /// Where its files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn nix_is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A port nothing listens on now (sshd takes no port 0, so a taken one is retried).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
