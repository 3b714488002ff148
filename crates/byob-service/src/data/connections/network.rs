//! A connection's network settings: made from the admin's request (with byob's own SSH key pair), turned into
//! the route a driver takes (revealing the key or the proxy's password, audited), the bastion's host key an
//! admin confirms, and the setup the customer applies.

use byob_core::{
    ConnectionId, OrgId, SecretId,
    connection::{Platform, TlsMode},
    network::{Network, NetworkRequest, Proxy, ProxyKind, SshTunnel},
    rules,
};
use byob_ports::{
    catalog::OwnedSecret,
    net::route::{ProxyRoute, Route, SshKey, SshRoute},
};

use crate::{
    Auditor, Deps, RequestContext, ServiceError,
    secrets::{reveal_owned, seal_owned},
};

/// Checks the request against the platform and its host.
pub(super) fn check(req: &NetworkRequest, platform: &Platform) -> Result<(), ServiceError> {
    let account = match platform {
        Platform::Snowflake(s) => Some(s.account.as_str()),
        _ => None,
    };
    let e = platform.endpoint();
    req.check(platform.name(), account, e.host)?;
    // Through a bastion or a proxy the PostgreSQL driver connects to a local forward, so it cannot check the
    // certificate's name itself; MySQL's, SQL Server's and the HTTP platforms' clients can (the name is kept).
    let forwarded = matches!(req.mode.as_str(), "ssh_tunnel" | "proxy");
    if forwarded && e.tls == TlsMode::VerifyFull && matches!(platform, Platform::Postgres(_) | Platform::Redshift(_)) {
        return Err(byob_core::location::FieldError::new(
            "tls",
            rules::CONNECTION_TLS_MODE,
            "through an SSH tunnel or a proxy use `verify-ca` (the driver sees only the tunnel's local address; the \
             connection's report checks the certificate's name along the route, as `tls-name-matches`)",
        )
        .into());
    }
    Ok(())
}

/// The stored settings, with byob's new key pair (SSH) or the proxy's password sealed as the connection's own
/// secrets.
pub(super) fn make(
    deps: &Deps,
    org: OrgId,
    id: ConnectionId,
    req: &NetworkRequest,
    owned: &mut Vec<OwnedSecret>,
) -> Result<Network, ServiceError> {
    let port = req.hop_port();
    let host = req.host.clone().unwrap_or_default();
    Ok(match req.mode.as_str() {
        "ssh_tunnel" => {
            let seed = byob_core::random::bytes::<32>().map_err(byob_ports::secretbox::SecretBoxError::from)?;
            let key = SshKey::from_seed(&seed);
            let private = key.to_openssh().map_err(internal)?;
            let secret = SecretId::generate();
            owned.push(seal_owned(
                deps,
                org,
                secret,
                format!("{id}/ssh-key"),
                "SSH private key of a data-platform connection's tunnel".into(),
                private.expose().as_bytes(),
                None,
            )?);
            Network::SshTunnel(SshTunnel {
                host,
                port,
                user: req.user.clone().unwrap_or_default(),
                public_key: key.public_openssh().map_err(internal)?,
                host_key: None,
                private_key: Some(secret),
            })
        }
        "proxy" => {
            let password = match &req.password {
                Some(password) => {
                    let secret = SecretId::generate();
                    owned.push(seal_owned(
                        deps,
                        org,
                        secret,
                        format!("{id}/proxy-password"),
                        "password of a data-platform connection's proxy".into(),
                        password.expose().as_bytes(),
                        None,
                    )?);
                    Some(secret)
                }
                None => None,
            };
            Network::Proxy(Proxy {
                kind: req.kind.unwrap_or(ProxyKind::HttpConnect),
                host,
                port,
                username: req.username.clone(),
                password,
            })
        }
        "private_link" => Network::PrivateLink(byob_core::network::PrivateLink {
            region: req.region.clone(),
            endpoint_service: req.endpoint_service.clone(),
            availability_zones: req.availability_zones.clone().unwrap_or_default(),
        }),
        _ => Network::Public,
    })
}

/// The route a driver takes, revealing the SSH key or the proxy's password (audited as `secret.use`).
pub(super) async fn route(
    deps: &Deps,
    auditor: &Auditor,
    ctx: &RequestContext,
    org: OrgId,
    network: &Network,
) -> Result<Route, ServiceError> {
    Ok(match network {
        Network::Public | Network::PrivateLink(_) => Route::Direct,
        Network::SshTunnel(t) => {
            let Some(secret) = t.private_key else {
                return Err(internal("an SSH tunnel without its key".into()));
            };
            let text = reveal_owned(deps, auditor, ctx, org, secret).await?;
            let key = SshKey::from_openssh(text.expose()).map_err(internal)?;
            Route::Ssh(std::sync::Arc::new(SshRoute {
                host: t.host.clone(),
                port: t.port,
                user: t.user.clone(),
                key,
                host_key: t.host_key.clone(),
            }))
        }
        Network::Proxy(p) => {
            let password = match p.password {
                Some(secret) => Some(reveal_owned(deps, auditor, ctx, org, secret).await?),
                None => None,
            };
            Route::Proxy(std::sync::Arc::new(ProxyRoute {
                kind: match p.kind {
                    ProxyKind::HttpConnect => byob_ports::net::route::ProxyKind::HttpConnect,
                    ProxyKind::Socks5 => byob_ports::net::route::ProxyKind::Socks5,
                },
                host: p.host.clone(),
                port: p.port,
                username: p.username.clone(),
                password,
            }))
        }
    })
}

/// The `authorized_keys` line for the bastion: byob's key, allowed to open exactly the platform's host and port
/// and nothing else (`restrict` turns off every other forwarding, the agent, X11 and PTYs).
#[must_use]
pub(super) fn authorized_keys_line(t: &SshTunnel, platform: &Platform, connection: &str) -> String {
    let e = platform.endpoint();
    format!(
        "restrict,port-forwarding,permitopen=\"{}:{}\",no-pty {} byob-connection-{connection}",
        e.host, e.port, t.public_key
    )
}

/// A failure inside byob (a stored key that does not parse): logged, and answered as `internal`.
fn internal(reason: String) -> ServiceError {
    tracing::error!(reason = %reason, "connection network settings");
    ServiceError::Refused { code: byob_core::codes::INTERNAL, message: "byob failed internally".into() }
}
