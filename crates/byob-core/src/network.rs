//! How byob reaches a connection's platform: over the internet (`public`), over a private link whose host must
//! resolve to private addresses (`private_link`), through the customer's SSH bastion (`ssh_tunnel`), or through
//! their proxy (`proxy`). The request shapes are checked here, field by field, with the rule each breaks.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{SecretId, location::FieldError, rules};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProxyKind {
    /// An HTTP proxy that accepts `CONNECT host:port`.
    HttpConnect,
    Socks5,
}

/// An AWS PrivateLink (or Azure Private Link) path to the platform: its host resolves, inside the customer's
/// network, to the endpoint's private addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PrivateLink {
    /// The AWS region of the endpoint (`us-east-1`), for the endpoint service and the zone ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The VPC endpoint service the consumer endpoint connects to: `com.amazonaws.vpce.us-east-1.vpce-svc-…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_service: Option<String>,
    /// Availability-zone ids the endpoint has subnets in (`use1-az1`): ids, not names, since names differ
    /// between accounts.
    #[serde(default)]
    pub availability_zones: Vec<String>,
}

/// The customer's SSH bastion. byob generated the key pair; the customer adds `public_key` to the bastion's
/// `authorized_keys` (the connection's setup shows the whole line, with its restrictions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SshTunnel {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// byob's public key for this connection (`ssh-ed25519 AAAA…`).
    pub public_key: String,
    /// The bastion's host key an admin confirmed (`SHA256:…`); until then byob sends nothing through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    /// The private key, a secret the connection owns (never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub private_key: Option<SecretId>,
}

/// The customer's proxy, for the platform's host behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Proxy {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The proxy's password, a secret the connection owns (never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub password: Option<SecretId>,
}

/// How byob reaches the platform, as stored (the API shows it without its secrets' ids).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Network {
    #[default]
    Public,
    PrivateLink(PrivateLink),
    SshTunnel(SshTunnel),
    Proxy(Proxy),
}

impl Network {
    #[must_use]
    pub fn mode(&self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::PrivateLink(_) => "private_link",
            Self::SshTunnel(_) => "ssh_tunnel",
            Self::Proxy(_) => "proxy",
        }
    }

    /// The secrets the network settings own (the SSH key, the proxy's password).
    #[must_use]
    pub fn secret_ids(&self) -> Vec<SecretId> {
        match self {
            Self::SshTunnel(t) => t.private_key.into_iter().collect(),
            Self::Proxy(p) => p.password.into_iter().collect(),
            Self::Public | Self::PrivateLink(_) => Vec::new(),
        }
    }

    /// Whether the driver reaches the platform through a hop of the customer's (its address is then a local
    /// forward, not the platform's host).
    #[must_use]
    pub fn forwarded(&self) -> bool {
        matches!(self, Self::SshTunnel(_) | Self::Proxy(_))
    }
}

/// What an admin sends as `network` when creating a connection.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkRequest {
    /// `public` (default), `private_link`, `ssh_tunnel` or `proxy`.
    pub mode: String,
    /// The bastion's or the proxy's host.
    pub host: Option<String>,
    /// Default 22 (SSH), 3128 (HTTP CONNECT) or 1080 (SOCKS5).
    pub port: Option<u16>,
    /// The bastion's user.
    pub user: Option<String>,
    /// `http_connect` or `socks5`.
    pub kind: Option<ProxyKind>,
    /// The proxy's user and password (write-only).
    pub username: Option<String>,
    #[schema(value_type = Option<String>)]
    pub password: Option<crate::Sensitive<String>>,
    pub region: Option<String>,
    pub endpoint_service: Option<String>,
    pub availability_zones: Option<Vec<String>>,
}

/// Which fields a mode takes, for the refusal of one it does not.
fn refuse_fields(req: &NetworkRequest, allowed: &[&str]) -> Result<(), FieldError> {
    let given = [
        ("host", req.host.is_some()),
        ("port", req.port.is_some()),
        ("user", req.user.is_some()),
        ("kind", req.kind.is_some()),
        ("username", req.username.is_some()),
        ("password", req.password.is_some()),
        ("region", req.region.is_some()),
        ("endpoint_service", req.endpoint_service.is_some()),
        ("availability_zones", req.availability_zones.is_some()),
    ];
    for (field, present) in given {
        if present && !allowed.contains(&field) {
            return Err(FieldError::new(
                &format!("network.{field}"),
                rules::NETWORK_FIELD,
                format!("mode `{}` has no `{field}` (it takes {})", req.mode, list_or_none(allowed)),
            ));
        }
    }
    Ok(())
}

fn list_or_none(fields: &[&str]) -> String {
    if fields.is_empty() { "no other field".into() } else { fields.join(", ") }
}

/// A DNS name or IP address, as a hop's host.
pub fn check_host(field: &str, host: &str) -> Result<(), FieldError> {
    let bad = |why: &str| Err(FieldError::new(field, rules::NETWORK_HOST, why.to_string()));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if host.is_empty() || host.len() > 253 {
        return bad("give a host name (1-253 characters) or an IP address");
    }
    for label in host.trim_end_matches('.').split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return bad(&format!(
                "`{host}` is not a host name: each dot-separated label is 1-63 letters, digits or inner `-`"
            ));
        }
    }
    Ok(())
}

/// An SSH user name as OpenSSH takes it.
fn check_ssh_user(user: &str) -> Result<(), FieldError> {
    let ok = !user.is_empty()
        && user.len() <= 32
        && user.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !user.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "network.user",
            rules::NETWORK_SSH_USER,
            "give the bastion's user: 1-32 letters, digits, `_`, `-` or `.`, not starting with `-`",
        ))
    }
}

fn check_port(port: Option<u16>) -> Result<(), FieldError> {
    if port == Some(0) {
        return Err(FieldError::new("network.port", rules::NETWORK_HOST, "a port is 1-65535"));
    }
    Ok(())
}

/// AWS's zone-id prefix of a region: `us-east-1` → `use1`, `ap-southeast-2` → `apse2`, `us-gov-west-1` →
/// `usgw1`.
#[must_use]
pub fn zone_id_prefix(region: &str) -> Option<String> {
    let parts: Vec<&str> = region.split('-').collect();
    let (area, middle, number) = match parts.as_slice() {
        [area, direction, number] => (*area, vec![*direction], *number),
        [area, extra, direction, number] => (*area, vec![*extra, *direction], *number),
        _ => return None,
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut prefix = area.to_string();
    for word in middle {
        let short = match word {
            "gov" => "g",
            "iso" => "i",
            "isob" => "ib",
            "east" => "e",
            "west" => "w",
            "north" => "n",
            "south" => "s",
            "central" => "c",
            "northeast" => "ne",
            "northwest" => "nw",
            "southeast" => "se",
            "southwest" => "sw",
            _ => return None,
        };
        prefix.push_str(short);
    }
    prefix.push_str(number);
    Some(prefix)
}

fn check_region(region: &str) -> Result<(), FieldError> {
    if zone_id_prefix(region).is_none()
        || !region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(FieldError::new(
            "network.region",
            rules::NETWORK_REGION,
            format!("`{region}` is not an AWS region such as us-east-1 or eu-central-1"),
        ));
    }
    Ok(())
}

/// `com.amazonaws.vpce.{region}.vpce-svc-{17 hex}`, in the connection's region.
fn check_endpoint_service(service: &str, region: Option<&str>) -> Result<(), FieldError> {
    let bad = |why: String| Err(FieldError::new("network.endpoint_service", rules::NETWORK_ENDPOINT_SERVICE, why));
    let Some(rest) = service.strip_prefix("com.amazonaws.vpce.") else {
        return bad(format!(
            "`{service}` is not a VPC endpoint service name: it reads com.amazonaws.vpce.REGION.vpce-svc-ID \
             (the provider's endpoint service, as its console shows it)"
        ));
    };
    let Some((service_region, id)) = rest.split_once('.') else {
        return bad(format!("`{service}` has no vpce-svc-ID after its region"));
    };
    let hex = id.strip_prefix("vpce-svc-").unwrap_or_default();
    if hex.len() != 17 || !hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return bad(format!("`{id}` is not an endpoint service id: vpce-svc- and 17 lower-case hex digits"));
    }
    if zone_id_prefix(service_region).is_none() {
        return bad(format!("`{service_region}` in `{service}` is not an AWS region"));
    }
    if let Some(region) = region
        && region != service_region
    {
        return bad(format!("the endpoint service is in `{service_region}`, the connection's region is `{region}`"));
    }
    Ok(())
}

/// `use1-az1`: a zone id of the region (zone names such as `us-east-1a` differ between accounts).
fn check_zone(index: usize, zone: &str, region: Option<&str>) -> Result<(), FieldError> {
    let field = format!("network.availability_zones[{index}]");
    let bad = |why: String| Err(FieldError::new(&field, rules::NETWORK_AVAILABILITY_ZONE, why));
    let Some((prefix, number)) = zone.split_once("-az") else {
        return bad(format!(
            "`{zone}` is not an availability-zone id: give ids such as use1-az1 (names such as us-east-1a map to \
             different zones in each account)"
        ));
    };
    if prefix.is_empty() || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return bad(format!("`{zone}` is not an availability-zone id such as use1-az1"));
    }
    match region.and_then(zone_id_prefix) {
        Some(expected) if expected != prefix => {
            bad(format!("`{zone}` is not in {} (its zone ids start with `{expected}-az`)", region.unwrap_or_default()))
        }
        _ => Ok(()),
    }
}

/// A private-link host of the platform: Snowflake's `ACCOUNT.REGION.privatelink.snowflakecomputing.com`,
/// Databricks' `….privatelink.cloud.databricks.com` / `….privatelink.azuredatabricks.net`; other platforms'
/// private hosts are any DNS name (a VPC endpoint's or the customer's private zone's).
pub fn check_private_link_host(platform: &str, account: Option<&str>, host: &str) -> Result<(), FieldError> {
    let bad = |why: String| Err(FieldError::new("host", rules::NETWORK_PRIVATE_LINK_HOST, why));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return bad(format!(
            "`{host}` is an address: a private link is reached by its name, which the private zone resolves \
             (the certificate is for the name)"
        ));
    }
    let labels: Vec<&str> = host.split('.').collect();
    match platform {
        "snowflake" => {
            let Some(prefix) = host.strip_suffix(".privatelink.snowflakecomputing.com") else {
                return bad(format!(
                    "`{host}` is not a Snowflake private-link host: it reads ACCOUNT.REGION.privatelink.\
                     snowflakecomputing.com (SYSTEM$GET_PRIVATELINK_CONFIG() shows it as privatelink-account-url)"
                ));
            };
            match account.map(str::to_ascii_lowercase) {
                Some(account) if prefix.to_ascii_lowercase() != account => {
                    bad(format!("`{host}` is for account `{prefix}`, the connection's account is `{account}`"))
                }
                _ => Ok(()),
            }
        }
        "databricks" => {
            let cloud = host.ends_with(".cloud.databricks.com") || host.ends_with(".azuredatabricks.net");
            if !cloud || !labels.contains(&"privatelink") {
                return bad(format!(
                    "`{host}` is not a Databricks private-link host: it has a `privatelink` label, as in \
                     dbc-a1b2c3d4-e5f6.privatelink.cloud.databricks.com or \
                     adb-1234567890123456.7.privatelink.azuredatabricks.net"
                ));
            }
            Ok(())
        }
        _ => check_host("host", host),
    }
}

impl NetworkRequest {
    /// Checks the request for the platform (its name, the account for Snowflake, its host).
    ///
    /// # Errors
    /// The first field that breaks a rule, named `network.FIELD` (or `host` for a private-link host).
    pub fn check(&self, platform: &str, account: Option<&str>, host: &str) -> Result<(), FieldError> {
        match self.mode.as_str() {
            "public" => refuse_fields(self, &[]),
            "private_link" => {
                refuse_fields(self, &["region", "endpoint_service", "availability_zones"])?;
                if let Some(region) = &self.region {
                    check_region(region)?;
                }
                check_private_link_host(platform, account, host)?;
                if let Some(service) = &self.endpoint_service {
                    check_endpoint_service(service, self.region.as_deref())?;
                }
                let region = self.region.as_deref().or_else(|| {
                    self.endpoint_service
                        .as_deref()
                        .and_then(|s| s.strip_prefix("com.amazonaws.vpce.")?.split('.').next())
                });
                for (i, zone) in self.availability_zones.iter().flatten().enumerate() {
                    check_zone(i, zone, region)?;
                }
                Ok(())
            }
            "ssh_tunnel" => {
                refuse_fields(self, &["host", "port", "user"])?;
                let Some(bastion) = &self.host else {
                    return Err(FieldError::new("network.host", rules::NETWORK_HOST, "give the SSH bastion's host"));
                };
                check_host("network.host", bastion)?;
                check_port(self.port)?;
                check_ssh_user(self.user.as_deref().unwrap_or_default())
            }
            "proxy" => {
                refuse_fields(self, &["host", "port", "kind", "username", "password"])?;
                if self.kind.is_none() {
                    return Err(FieldError::new(
                        "network.kind",
                        rules::NETWORK_PROXY_KIND,
                        "give the proxy's kind: `http_connect` or `socks5`",
                    ));
                }
                let Some(proxy) = &self.host else {
                    return Err(FieldError::new("network.host", rules::NETWORK_HOST, "give the proxy's host"));
                };
                check_host("network.host", proxy)?;
                check_port(self.port)?;
                if self.password.is_some() != self.username.is_some() {
                    return Err(FieldError::new(
                        "network.username",
                        rules::NETWORK_FIELD,
                        "give the proxy's `username` and `password` together",
                    ));
                }
                Ok(())
            }
            other => Err(FieldError::new(
                "network.mode",
                rules::NETWORK_MODE,
                format!("`{other}` is not a network mode: use public, private_link, ssh_tunnel or proxy"),
            )),
        }
    }

    /// The bastion's or proxy's port, or its default.
    #[must_use]
    pub fn hop_port(&self) -> u16 {
        self.port.unwrap_or(match (self.mode.as_str(), self.kind) {
            ("ssh_tunnel", _) => 22,
            (_, Some(ProxyKind::Socks5)) => 1080,
            _ => 3128,
        })
    }
}

/// What kind of private endpoint a storage endpoint's host names, by its form: Azure's
/// `ACCOUNT.privatelink.blob.core.windows.net` (or `dfs`), an AWS interface endpoint `….vpce.amazonaws.com`, a
/// Google Private Service Connect endpoint `….p.googleapis.com`. Such a host must resolve to private addresses.
#[must_use]
pub fn private_endpoint_form(host: &str) -> Option<&'static str> {
    let host = host.to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    if host.ends_with(".privatelink.blob.core.windows.net") || host.ends_with(".privatelink.dfs.core.windows.net") {
        Some("an Azure private endpoint")
    } else if host.ends_with(".vpce.amazonaws.com") {
        Some("an AWS interface endpoint")
    } else if host.ends_with(".p.googleapis.com") {
        Some("a Private Service Connect endpoint")
    } else {
        None
    }
}

/// An SSH host key fingerprint as OpenSSH prints it: `SHA256:` and 43 unpadded base64 characters.
pub fn check_host_key(field: &str, fingerprint: &str) -> Result<(), FieldError> {
    let body = fingerprint.strip_prefix("SHA256:").unwrap_or_default();
    let ok = body.len() == 43 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            rules::NETWORK_HOST_KEY,
            "give the host key's SHA-256 fingerprint as `ssh-keygen -lf` prints it: SHA256: and 43 base64 characters",
        ))
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn request(json: &str) -> NetworkRequest {
        serde_json::from_str(json).expect("request")
    }

    fn rule(result: Result<(), FieldError>) -> (String, &'static str) {
        let e = result.expect_err("refused");
        (e.field, e.rule)
    }

    #[test]
    fn zone_prefixes_follow_aws() {
        assert_eq!(zone_id_prefix("us-east-1").as_deref(), Some("use1"));
        assert_eq!(zone_id_prefix("ap-southeast-2").as_deref(), Some("apse2"));
        assert_eq!(zone_id_prefix("eu-central-1").as_deref(), Some("euc1"));
        assert_eq!(zone_id_prefix("us-gov-west-1").as_deref(), Some("usgw1"));
        assert_eq!(zone_id_prefix("mars-1"), None);
    }

    #[test]
    fn private_link_fields_are_checked_against_the_region() {
        let ok = request(
            r#"{"mode":"private_link","region":"us-east-1",
                "endpoint_service":"com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                "availability_zones":["use1-az1","use1-az4"]}"#,
        );
        ok.check("snowflake", Some("xy12345.us-east-1"), "xy12345.us-east-1.privatelink.snowflakecomputing.com")
            .expect("valid");
        let zone = request(r#"{"mode":"private_link","region":"us-east-1","availability_zones":["euw1-az1"]}"#);
        assert_eq!(
            rule(zone.check("postgres", None, "db.internal")),
            ("network.availability_zones[0]".into(), "network-availability-zone")
        );
        let name = request(r#"{"mode":"private_link","availability_zones":["us-east-1a"]}"#);
        assert_eq!(rule(name.check("postgres", None, "db.internal")).1, "network-availability-zone");
        let service = request(
            r#"{"mode":"private_link","region":"eu-west-1",
                "endpoint_service":"com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"}"#,
        );
        assert_eq!(rule(service.check("postgres", None, "db.internal")).1, "network-endpoint-service");
        let short = request(r#"{"mode":"private_link","endpoint_service":"com.amazonaws.vpce.us-east-1.vpce-svc-12"}"#);
        assert_eq!(rule(short.check("postgres", None, "db.internal")).1, "network-endpoint-service");
    }

    #[test]
    fn private_link_hosts_have_their_platforms_form() {
        let req = request(r#"{"mode":"private_link"}"#);
        assert_eq!(
            rule(req.check("snowflake", Some("xy12345.us-east-1"), "xy12345.us-east-1.snowflakecomputing.com")),
            ("host".into(), "network-private-link-host")
        );
        assert_eq!(
            rule(req.check(
                "snowflake",
                Some("xy12345.us-east-1"),
                "ab99999.us-east-1.privatelink.snowflakecomputing.com"
            ))
            .1,
            "network-private-link-host"
        );
        req.check("databricks", None, "dbc-a1b2c3d4-e5f6.privatelink.cloud.databricks.com").expect("databricks");
        assert_eq!(
            rule(req.check("databricks", None, "dbc-a1b2c3d4-e5f6.cloud.databricks.com")).1,
            "network-private-link-host"
        );
        assert_eq!(rule(req.check("postgres", None, "10.0.0.5")).1, "network-private-link-host");
    }

    #[test]
    fn ssh_and_proxy_fields_are_named() {
        let no_user = request(r#"{"mode":"ssh_tunnel","host":"bastion.example.com"}"#);
        assert_eq!(rule(no_user.check("postgres", None, "db")), ("network.user".into(), "network-ssh-user"));
        let bad_host = request(r#"{"mode":"ssh_tunnel","host":"bad host","user":"byob"}"#);
        assert_eq!(rule(bad_host.check("postgres", None, "db")), ("network.host".into(), "network-host"));
        let stray = request(r#"{"mode":"ssh_tunnel","host":"b.example.com","user":"byob","kind":"socks5"}"#);
        assert_eq!(rule(stray.check("postgres", None, "db")), ("network.kind".into(), "network-field"));
        let no_kind = request(r#"{"mode":"proxy","host":"proxy.example.com"}"#);
        assert_eq!(rule(no_kind.check("postgres", None, "db")), ("network.kind".into(), "network-proxy-kind"));
        let mode = request(r#"{"mode":"vpn"}"#);
        assert_eq!(rule(mode.check("postgres", None, "db")), ("network.mode".into(), "network-mode"));
        assert!(check_host_key("fingerprint", "SHA256:abc").is_err());
        check_host_key("fingerprint", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU").expect("valid");
    }
}
