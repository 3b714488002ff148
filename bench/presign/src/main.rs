//! Presigns N GET URLs for distinct keys with byob's S3 client and prints the rate. Presigning is local work (a
//! SigV4 HMAC chain), so no server is contacted; bench/presign/run.sh runs boto3 on the same inputs.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use byob_core::{Sensitive, location::Prefix};
use byob_ports::{
    net::NetworkPolicy,
    storage::{
        ClientPolicy,
        s3::{self, S3AccessKey},
    },
};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let client = s3::connect(
        S3AccessKey {
            bucket: "bench-bucket".into(),
            prefix: Prefix::parse("prefix", "tenants/acme").unwrap(),
            region: "us-east-1".into(),
            endpoint: Some("http://127.0.0.1:9000".into()),
            path_style: true,
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: Sensitive::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            kms_key: None,
        },
        ClientPolicy::default(),
        // Nothing is contacted; the loopback endpoint only has to pass the policy.
        &NetworkPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap()]),
    )
    .unwrap();
    let keys: Vec<_> =
        (0..n).map(|i| client.key(&format!("uploads/2026/11/22/upl_{i:08}/data.csv")).unwrap()).collect();
    let started = Instant::now();
    let mut bytes = 0usize;
    for key in &keys {
        bytes += client.presign_get(key, None).await.unwrap().url.as_str().len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!("byob\t{n}\t{secs:.3}\t{:.0}\t{}", n as f64 / secs, bytes / n);
}
