//! What the customer (and byob's operator) apply for a connection's network: the bastion's `authorized_keys`
//! line, Terraform for an AWS PrivateLink endpoint service and its consumer endpoint with private DNS, and
//! Snowflake's private-link authorization.

use byob_core::{
    connection::{Connection, Platform},
    network::Network,
};
use serde::Serialize;
use utoipa::ToSchema;

/// One step of a connection's network setup.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkArtifact {
    /// `authorized-keys`, `ssh-host-key`, `privatelink-terraform`, `snowflake-authorize-privatelink`,
    /// `private-dns`.
    pub name: String,
    /// Who applies it: `customer` or `operator` (byob's own network).
    pub applied_by: String,
    /// `text`, `terraform`, `sql` or `shell`.
    pub format: String,
    pub content: String,
    pub notes: Vec<String>,
}

/// Where the operator's principal is not configured, the Terraform names a placeholder to replace.
const PLACEHOLDER_PRINCIPAL: &str = "arn:aws:iam::BYOB_ACCOUNT_ID:root";

fn artifact(name: &str, applied_by: &str, format: &str, content: String, notes: Vec<String>) -> NetworkArtifact {
    NetworkArtifact { name: name.into(), applied_by: applied_by.into(), format: format.into(), content, notes }
}

/// Every step for the connection's network mode (none for `public`).
#[must_use]
pub(super) fn artifacts(c: &Connection, byob_principal: Option<&str>) -> Vec<NetworkArtifact> {
    let e = c.platform.endpoint();
    match &c.network {
        Network::Public => Vec::new(),
        Network::SshTunnel(t) => vec![
            artifact(
                "authorized-keys",
                "customer",
                "text",
                super::network::authorized_keys_line(t, &c.platform, &c.name),
                vec![
                    format!("Append this line to ~{}/.ssh/authorized_keys on {}.", t.user, t.host),
                    format!(
                        "`permitopen` lets the key reach only {}:{}; `restrict` turns off shells, PTYs, agent and \
                         X11 forwarding and every other destination.",
                        e.host, e.port
                    ),
                ],
            ),
            artifact(
                "ssh-host-key",
                "customer",
                "shell",
                format!(
                    "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub   # on {}\nbyob connections trust-host-key {} SHA256:…",
                    t.host, c.name
                ),
                vec![
                    "byob sends nothing through the bastion until an admin confirms its host key; it pins the key \
                     only when the bastion offers exactly the fingerprint given."
                        .into(),
                ],
            ),
        ],
        Network::Proxy(_) => Vec::new(),
        Network::PrivateLink(link) => {
            let principal = byob_principal.unwrap_or(PLACEHOLDER_PRINCIPAL);
            let region = link.region.clone().unwrap_or_else(|| "REGION".into());
            let zones = if link.availability_zones.is_empty() {
                "# the zone ids of the subnets below, e.g. \"use1-az1\"".to_string()
            } else {
                link.availability_zones.iter().map(|z| format!("\"{z}\"")).collect::<Vec<_>>().join(", ")
            };
            let service = link
                .endpoint_service
                .clone()
                .unwrap_or_else(|| "aws_vpc_endpoint_service.platform.service_name".into());
            let service_ref = if link.endpoint_service.is_some() { format!("\"{service}\"") } else { service.clone() };
            let mut out = Vec::new();
            if !matches!(c.platform, Platform::Snowflake(_) | Platform::Databricks(_)) {
                out.push(artifact(
                    "privatelink-terraform",
                    "customer",
                    "terraform",
                    format!(
                        r#"# In the account where the platform runs ({region}): an endpoint service in front of the
# platform's Network Load Balancer, which only byob's principal may connect to.
resource "aws_vpc_endpoint_service" "platform" {{
  acceptance_required        = true
  network_load_balancer_arns = [var.platform_nlb_arn]
  allowed_principals         = ["{principal}"]
  supported_regions          = ["{region}"]
}}

output "endpoint_service_name" {{
  value = aws_vpc_endpoint_service.platform.service_name
}}
"#
                    ),
                    vec![
                        format!("Only {principal} may create an endpoint to the service (allowed principals)."),
                        "Accept byob's endpoint connection when it appears (acceptance is required).".into(),
                    ],
                ));
            }
            out.push(artifact(
                "private-dns",
                "operator",
                "terraform",
                format!(
                    r#"# In byob's VPC ({region}): the consumer endpoint, and a private zone so that {host}
# resolves to the endpoint's private addresses (byob's report fails `network-host-resolves` otherwise).
resource "aws_vpc_endpoint" "{name}" {{
  vpc_id              = var.byob_vpc_id
  service_name        = {service_ref}
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.byob_subnet_ids # in the zones {zones}
  security_group_ids  = [var.byob_endpoint_security_group_id]
  private_dns_enabled = false
}}

resource "aws_route53_zone" "{name}" {{
  name = "{zone}"
  vpc {{
    vpc_id = var.byob_vpc_id
  }}
}}

resource "aws_route53_record" "{name}" {{
  zone_id = aws_route53_zone.{name}.zone_id
  name    = "{host}"
  type    = "CNAME"
  ttl     = 300
  records = [aws_vpc_endpoint.{name}.dns_entry[0].dns_name]
}}
"#,
                    name = c.name.replace('-', "_"),
                    host = e.host,
                    zone = e.host.split_once('.').map_or(e.host, |(_, parent)| parent),
                ),
                vec![format!("The endpoint's security group must allow byob's hosts on port {}.", e.port)],
            ));
            if let Platform::Snowflake(s) = &c.platform {
                out.push(artifact(
                    "snowflake-authorize-privatelink",
                    "customer",
                    "sql",
                    format!(
                        "-- As ACCOUNTADMIN in account {account}: let byob's AWS account use Snowflake's private link.\n\
                         SELECT SYSTEM$AUTHORIZE_PRIVATELINK('BYOB_AWS_ACCOUNT_ID', 'FEDERATED_TOKEN');\n\
                         -- Then read the endpoint service and host names byob's endpoint needs:\n\
                         SELECT SYSTEM$GET_PRIVATELINK_CONFIG();\n",
                        account = s.account
                    ),
                    vec![
                        "BYOB_AWS_ACCOUNT_ID is the operator's AWS account id; FEDERATED_TOKEN comes from \
                         `aws sts get-federation-token` in that account, as Snowflake's documentation describes."
                            .into(),
                        "`privatelink-account-url` in the config is the connection's host; \
                         `privatelink-vpce-id` is the endpoint service of the `private-dns` step."
                            .into(),
                    ],
                ));
            }
            out
        }
    }
}
