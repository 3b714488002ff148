//! Signing in to SQL Server: the host resolved and every address checked against the network policy, byob's
//! own TCP connection to the checked address (never a second lookup), TLS as the connection's mode asks, one
//! redirect followed (Azure SQL's gateway sends clients on to the database's node), and tiberius' errors as
//! byob's.

use byob_core::connection::TlsMode;
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt as _};

use crate::warehouse::{ServerSettings, WarehouseError, server::CONNECT_TIMEOUT};

pub(super) type Session = Client<Compat<TcpStream>>;

/// SQL Server's error number for a refused login.
const LOGIN_FAILED: u32 = 18_456;

/// How the session is set up once signed in: any error ends (and rolls back) the whole transaction, and no
/// lock is waited on longer than a statement may run.
fn session_setup(settings: &ServerSettings) -> String {
    let millis = u64::try_from(settings.statement_timeout.as_millis()).unwrap_or(u64::MAX).clamp(1_000, 2_147_483_647);
    format!("SET XACT_ABORT ON; SET LOCK_TIMEOUT {millis}; SET IMPLICIT_TRANSACTIONS OFF")
}

/// The encryption byob asks for, and whether it checks the server's certificate (its chain and its name):
/// `disable` sends everything in the clear (a local stand-in), `prefer` encrypts when the server can, `require`
/// always encrypts, `verify-full` always encrypts and checks the certificate against the system's roots.
pub(super) fn encryption(tls: TlsMode) -> (EncryptionLevel, bool) {
    match tls {
        TlsMode::Disable => (EncryptionLevel::NotSupported, false),
        TlsMode::Prefer => (EncryptionLevel::On, false),
        TlsMode::Require => (EncryptionLevel::Required, false),
        // `verify-ca` is refused when the connection is made (`connection-tls-mode`): tiberius checks the chain
        // and the name together, so it is held to `verify-full` here.
        TlsMode::VerifyCa | TlsMode::VerifyFull => (EncryptionLevel::Required, true),
    }
}

/// tiberius' configuration for `host:port` (the connection's, or where the server redirected byob).
fn config(settings: &ServerSettings, host: &str, port: u16, level: EncryptionLevel, verify: bool) -> Config {
    let mut config = Config::new();
    config.host(host);
    config.port(port);
    config.database(&settings.database);
    config.application_name("byob");
    let password = settings.password.as_ref().map(|p| p.expose().as_str()).unwrap_or_default();
    config.authentication(AuthMethod::sql_server(&settings.user, password));
    config.handshake_timeout(Some(CONNECT_TIMEOUT));
    // Each wait for the server is bounded by the job's statement limit (tiberius' own default is 30 s).
    config.command_timeout(Some(settings.statement_timeout));
    config.encryption(level);
    if !verify {
        config.trust_cert();
    }
    config
}

/// byob's error for one of tiberius'.
pub(super) fn error(e: tiberius::error::Error) -> WarehouseError {
    match e {
        tiberius::error::Error::Server(token) if token.code() == LOGIN_FAILED => {
            WarehouseError::Connect(token.message().to_string())
        }
        tiberius::error::Error::Server(token) => {
            WarehouseError::Rejected(format!("{} (SQL Server error {})", token.message(), token.code()))
        }
        tiberius::error::Error::Io { .. } | tiberius::error::Error::Tls(_) | tiberius::error::Error::Routing { .. } => {
            WarehouseError::Connect(e.to_string())
        }
        other => WarehouseError::Database(other.to_string()),
    }
}

/// byob's own TCP connection to `host:port`: at an address the network policy allows, or to the route's local
/// forward (the TLS name stays `host`, which tiberius checks).
async fn open(
    settings: &ServerSettings,
    host: &str,
    port: u16,
) -> Result<(TcpStream, super::super::server::DriverAddress), WarehouseError> {
    let hop = ServerSettings { host: host.to_string(), port, ..settings.clone() };
    let address = hop.driver_address().await?;
    let tcp =
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((address.host.as_str(), address.port))).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(WarehouseError::Connect(format!("{host}:{port}: {e}"))),
            Err(_) => {
                return Err(WarehouseError::Connect(format!(
                    "{host}:{port} did not answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
    tcp.set_nodelay(true).ok();
    Ok((tcp, address))
}

/// Opens a session: signed in, set up, in autocommit mode.
pub(super) async fn connect(settings: &ServerSettings) -> Result<Session, WarehouseError> {
    let (mut host, mut port) = (settings.host.clone(), settings.port);
    let (mut level, verify) = encryption(settings.tls);
    let mut redirected = false;
    // At most three attempts: the server, without TLS when `prefer` met a server that has none, and the one
    // server it may redirect to (checked by the same policy).
    loop {
        // The forward (if any) is held until the sign-in is done.
        let (tcp, _address) = open(settings, &host, port).await?;
        match Client::connect(config(settings, &host, port, level, verify), tcp.compat_write()).await {
            Ok(mut session) => {
                batch(&mut session, &session_setup(settings)).await?;
                return Ok(session);
            }
            Err(tiberius::error::Error::Routing { host: next, port: next_port }) if !redirected => {
                redirected = true;
                (host, port) = (next, next_port);
            }
            Err(tiberius::error::Error::Protocol(why))
                if settings.tls == TlsMode::Prefer && level == EncryptionLevel::On && why.contains("encryption") =>
            {
                level = EncryptionLevel::NotSupported;
            }
            Err(tiberius::error::Error::Routing { .. }) => {
                return Err(WarehouseError::Connect(format!("{} redirected byob more than once", settings.host)));
            }
            Err(e) => return Err(error(e)),
        }
    }
}

/// Runs statements as one batch (not through `sp_executesql`, whose `SET`s and transactions end with it).
pub(super) async fn batch(session: &mut Session, sql: &str) -> Result<(), WarehouseError> {
    let stream = session.simple_query(sql).await.map_err(error)?;
    stream.into_results().await.map_err(error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_but_disable_asks_for_encryption_and_verify_full_checks_the_certificate() {
        assert_eq!(encryption(TlsMode::Disable), (EncryptionLevel::NotSupported, false));
        assert_eq!(encryption(TlsMode::Prefer), (EncryptionLevel::On, false));
        assert_eq!(encryption(TlsMode::Require), (EncryptionLevel::Required, false));
        assert_eq!(encryption(TlsMode::VerifyFull), (EncryptionLevel::Required, true));
    }
}
