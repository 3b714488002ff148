//! The vocabulary of setup artifacts — the artifact model, the facts an integration's artifacts are built from,
//! Terraform and shell rendering, warehouse SQL — and the [`ProviderSetup`] each provider implements. The setup
//! document is assembled in `setup`; each provider's artifacts are written in its module under `providers/`.
//! Built from typed structures (serde_json, hcl-rs, shlex): no user string is ever pasted into text.

mod model;
pub(crate) mod private_endpoint;
pub(crate) mod shell;
pub(crate) mod spec;
pub(crate) mod sql;
pub(crate) mod terraform;

use hcl::Body;

pub use model::{Artifact, ArtifactName, ByobIdentity, CommandLine, SetupDocument};
pub(crate) use spec::Spec;

/// Where a warehouse reads the integration's files: the location as a stage URL, Snowflake's name for the
/// provider, and the identity clause of Snowflake's storage integration (`STORAGE_AWS_ROLE_ARN`, …).
pub(crate) struct Stage {
    pub url: String,
    pub snowflake_provider: &'static str,
    /// The clause's parameter and its value, or `None` where the provider needs none.
    pub identity: Option<(&'static str, String)>,
}

/// One provider's artifacts.
pub(crate) trait ProviderSetup: Sync {
    /// The artifacts and the notes that go with them.
    fn artifacts(&self, spec: &Spec<'_>, byob: &ByobIdentity) -> (Vec<Artifact>, Vec<String>);
    fn terraform(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Body;
    fn commands(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Vec<CommandLine>;
    /// Where warehouses can read the integration's files, if they can.
    fn stage(&self, spec: &Spec<'_>) -> Option<Stage>;
}

/// A provider with nothing to set up (a directory on byob's host, an in-memory store).
pub(crate) struct NoSetup;

impl ProviderSetup for NoSetup {
    fn artifacts(&self, _: &Spec<'_>, _: &ByobIdentity) -> (Vec<Artifact>, Vec<String>) {
        (Vec::new(), vec!["A local directory needs no setup.".into()])
    }
    fn terraform(&self, _: &Spec<'_>, _: &[Artifact]) -> Body {
        Body::default()
    }
    fn commands(&self, _: &Spec<'_>, _: &[Artifact]) -> Vec<CommandLine> {
        Vec::new()
    }
    fn stage(&self, _: &Spec<'_>) -> Option<Stage> {
        None
    }
}
