//! The OpenAPI 3.1 document, generated from the handlers' annotations. Every operation's security scope says
//! who may call it (`operator`, `admin`, `self`, `member`); the tenant-isolation test reads those scopes.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, OpenApi as Document, RefOr, Response, ResponseBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::problem::{PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "byob",
        description = "Bring your own bucket: customer-owned object storage for SaaS and data platforms.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    components(schemas(Problem)),
    tags(
        (name = "system", description = "Health, readiness, metrics"),
        (name = "orgs", description = "Organizations (tenants)"),
        (name = "members", description = "Members of an organization"),
        (name = "tokens", description = "Members' API tokens"),
        (name = "secrets", description = "Write-only secrets, encrypted at rest"),
        (name = "audit", description = "The audit trail"),
        (name = "integrations", description = "Customer-owned storage locations and how byob reaches them"),
        (name = "webhooks", description = "Webhook endpoints, their deliveries, and the org's events"),
        (name = "connections", description = "Data platforms files are loaded into"),
        (name = "uploads", description = "Files sent straight to the bucket, previewed and loaded"),
        (name = "assets", description = "Versioned, content-addressed project files in the org's bucket, with signed manifests"),
        (name = "migrations", description = "Moving an org's files between stores, verified, then switched"),
        (name = "attachments", description = "Files tied to a record's field, checked, scanned, and kept in the org's bucket"),
        (name = "exports", description = "Tables and queries written into the bucket, once or on a schedule"),
        (name = "imports", description = "A fixed file or the most recent dated file of a bucket, loaded into a table"),
        (name = "jobs", description = "Long work: loads, export and import runs, with progress"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator token or a member's API token. The scope names who may call: `operator`, \
                         `admin` (of the org), `self` (an admin or the member in the path), `member` (any member).",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the problem+json error responses every operation can give, so handlers list only their success. Applied
/// by [`finish`] once the routes' paths are merged in (utoipa runs `modifiers` before that).
struct ProblemResponses;

/// Completes the document built from the routes.
pub(crate) fn finish(mut doc: Document) -> Document {
    ProblemResponses.modify(&mut doc);
    doc
}

/// Operations that add to what an org holds, and so may meet a per-org quota.
const QUOTA_OPERATIONS: [&str; 7] =
    ["create_export", "run_export", "create_import", "run_import", "create_upload", "load_upload", "create_webhook"];

fn problem_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem")))))
        .build()
        .into()
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut Document) {
        for item in openapi.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
            {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let responses = &mut op.responses.responses;
                responses.entry("400".into()).or_insert_with(|| problem_response("Malformed request"));
                if secured {
                    responses.entry("401".into()).or_insert_with(|| problem_response("Missing or invalid token"));
                    responses
                        .entry("403".into())
                        .or_insert_with(|| problem_response("The caller's role is not enough"));
                    responses.entry("404".into()).or_insert_with(|| problem_response("Not found, or another org's"));
                }
                responses.entry("4XX".into()).or_insert_with(|| {
                    problem_response("Any other refusal: 405, 409, 413, 415, 422 … (see docs/errors.md)")
                });
                if op.operation_id.as_deref().is_some_and(|id| QUOTA_OPERATIONS.contains(&id)) {
                    responses.entry("429".into()).or_insert_with(|| {
                        problem_response(
                            "A per-org limit of the operator is reached (`quota-exceeded`, `quotas.*`), or the \
                             token's or org's request rate (`rate-limited`, with `Retry-After`)",
                        )
                    });
                } else if secured {
                    responses.entry("429".into()).or_insert_with(|| {
                        problem_response(
                            "The token's or the org's request rate is exceeded (`rate-limited`); `Retry-After` says \
                             when to send again",
                        )
                    });
                }
                responses.entry("500".into()).or_insert_with(|| problem_response("Internal error, with an error id"));
                if secured {
                    responses.entry("503".into()).or_insert_with(|| {
                        problem_response(
                            "The catalog is busy with other writes (`catalog-busy`); nothing changed, retry",
                        )
                    });
                }
            }
        }
    }
}
