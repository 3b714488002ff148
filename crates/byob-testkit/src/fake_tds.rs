//! A TDS peer for SQL Server's sign-in. No SQL Server runs here (docs/testing.md), so byob's side of the
//! handshake is checked against what MS-TDS says a server sends: a PRELOGIN answer with the encryption the test
//! chooses, then, for a LOGIN7, either SQL Server's refusal (error 18456) or Azure SQL's redirect to another
//! server (an `ENVCHANGE` of type 20). Every packet byob sends is kept, in order, for the test to read.

use std::sync::Arc;

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::Mutex,
};

/// PRELOGIN's `ENCRYPTION` values (MS-TDS 2.2.6.5).
pub const ENCRYPT_ON: u8 = 0x01;
pub const ENCRYPT_NOT_SUP: u8 = 0x02;
pub const ENCRYPT_REQ: u8 = 0x03;

/// Packet types (MS-TDS 2.2.3.1.1).
pub const PRELOGIN: u8 = 0x12;
pub const LOGIN7: u8 = 0x10;
const TABULAR_RESULT: u8 = 0x04;

/// What the peer answers a LOGIN7 with.
#[derive(Debug, Clone)]
pub enum LoginAnswer {
    /// Error 18456 with this message, as SQL Server refuses a login.
    Refuse(String),
    /// A routing `ENVCHANGE` to this host and port, as Azure SQL's gateway sends clients on.
    Redirect(String, u16),
}

/// One message byob sent: which TCP connection (from 0, in the order they came), its packet type, its payload.
#[derive(Debug, Clone)]
pub struct Packet {
    pub connection: usize,
    pub kind: u8,
    pub payload: Vec<u8>,
}

pub struct FakeTds {
    pub port: u16,
    pub packets: Arc<Mutex<Vec<Packet>>>,
}

impl FakeTds {
    /// A peer on loopback that answers every PRELOGIN with `encryption` and every LOGIN7 with `login`.
    pub async fn start(encryption: u8, login: LoginAnswer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let packets = Arc::new(Mutex::new(Vec::new()));
        let kept = packets.clone();
        tokio::spawn(async move {
            let mut connection = 0;
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, connection, encryption, login.clone(), kept.clone()));
                connection += 1;
            }
        });
        Self { port, packets }
    }

    pub async fn packets(&self) -> Vec<Packet> {
        self.packets.lock().await.clone()
    }
}

/// The `ENCRYPTION` option of a PRELOGIN payload.
#[must_use]
pub fn prelogin_encryption(payload: &[u8]) -> Option<u8> {
    let mut at = 0;
    while let Some(&token) = payload.get(at) {
        if token == 0xff {
            return None;
        }
        let offset = usize::from(u16::from_be_bytes([*payload.get(at + 1)?, *payload.get(at + 2)?]));
        if token == 0x01 {
            return payload.get(offset).copied();
        }
        at += 5;
    }
    None
}

/// A text field of a LOGIN7 payload by the position of its offset and length (MS-TDS 2.2.6.4): 40 the user
/// name, 48 the application, 68 the database.
#[must_use]
pub fn login7_text(payload: &[u8], position: usize) -> Option<String> {
    let word = |at: usize| Some(usize::from(u16::from_le_bytes([*payload.get(at)?, *payload.get(at + 1)?])));
    let (offset, chars) = (word(position)?, word(position + 2)?);
    let bytes = payload.get(offset..offset + 2 * chars)?;
    let units: Vec<u16> = bytes.chunks(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
    String::from_utf16(&units).ok()
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Reads one message (its packets up to end-of-message): its type and payload.
async fn read_message(stream: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; 8];
        stream.read_exact(&mut header).await.ok()?;
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let mut body = vec![0u8; length.checked_sub(8)?];
        stream.read_exact(&mut body).await.ok()?;
        payload.extend_from_slice(&body);
        if header[1] & 0x01 == 0x01 {
            return Some((header[0], payload));
        }
    }
}

async fn write_message(stream: &mut TcpStream, payload: &[u8]) -> Option<()> {
    let length = u16::try_from(payload.len() + 8).ok()?;
    let mut packet = vec![TABULAR_RESULT, 0x01];
    packet.extend_from_slice(&length.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 1, 0]);
    packet.extend_from_slice(payload);
    stream.write_all(&packet).await.ok()
}

/// The PRELOGIN answer: SQL Server 16.0 (2022) and the chosen encryption.
fn prelogin_answer(encryption: u8) -> Vec<u8> {
    let mut payload = vec![0x00, 0, 11, 0, 6, 0x01, 0, 17, 0, 1, 0xff];
    payload.extend_from_slice(&[16, 0, 0x07, 0xd0, 0, 0]);
    payload.push(encryption);
    payload
}

/// A `DONE` token, with the error bit when the request failed.
fn done(error: bool) -> Vec<u8> {
    let mut token = vec![0xfd];
    token.extend_from_slice(&(if error { 0x0002u16 } else { 0 }).to_le_bytes());
    token.extend_from_slice(&0u16.to_le_bytes());
    token.extend_from_slice(&0u64.to_le_bytes());
    token
}

fn login_answer(answer: &LoginAnswer) -> Vec<u8> {
    let mut body = Vec::new();
    let mut tokens = Vec::new();
    match answer {
        LoginAnswer::Refuse(message) => {
            body.extend_from_slice(&18_456u32.to_le_bytes());
            body.extend_from_slice(&[1, 14]);
            body.extend_from_slice(&u16::try_from(message.encode_utf16().count()).unwrap_or(0).to_le_bytes());
            body.extend_from_slice(&utf16(message));
            let server = "fake-tds";
            body.push(u8::try_from(server.len()).unwrap_or(0));
            body.extend_from_slice(&utf16(server));
            body.push(0);
            body.extend_from_slice(&1u32.to_le_bytes());
            tokens.push(0xaa);
            tokens.extend_from_slice(&u16::try_from(body.len()).unwrap_or(0).to_le_bytes());
            tokens.extend_from_slice(&body);
            tokens.extend_from_slice(&done(true));
        }
        LoginAnswer::Redirect(host, port) => {
            let mut routing = vec![0u8];
            routing.extend_from_slice(&port.to_le_bytes());
            routing.extend_from_slice(&u16::try_from(host.encode_utf16().count()).unwrap_or(0).to_le_bytes());
            routing.extend_from_slice(&utf16(host));
            body.push(20);
            body.extend_from_slice(&u16::try_from(routing.len()).unwrap_or(0).to_le_bytes());
            body.extend_from_slice(&routing);
            body.extend_from_slice(&0u16.to_le_bytes());
            tokens.push(0xe3);
            tokens.extend_from_slice(&u16::try_from(body.len()).unwrap_or(0).to_le_bytes());
            tokens.extend_from_slice(&body);
            tokens.extend_from_slice(&done(false));
        }
    }
    tokens
}

async fn serve(
    mut stream: TcpStream,
    connection: usize,
    encryption: u8,
    login: LoginAnswer,
    packets: Arc<Mutex<Vec<Packet>>>,
) {
    while let Some((kind, payload)) = read_message(&mut stream).await {
        packets.lock().await.push(Packet { connection, kind, payload });
        let answer = match kind {
            PRELOGIN => prelogin_answer(encryption),
            LOGIN7 => login_answer(&login),
            _ => return,
        };
        if write_message(&mut stream, &answer).await.is_none() {
            return;
        }
    }
}
