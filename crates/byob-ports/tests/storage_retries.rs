//! Retries of storage requests, through the test kit's fault proxy in front of moto: the number of attempts is
//! the operator's (`storage.retries`), a `Retry-After` is waited out before the next attempt, a download cut in
//! the middle of its body resumes, and a multipart completion whose answer was lost is recognised as done (the
//! upload is gone, but the object there is exactly the one its parts make).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use byob_core::{Sensitive, location::Prefix};
use byob_ports::storage::{ClientPolicy, RetryPolicy, StorageClient, s3};
use byob_testkit::{
    buckets::{create_s3_bucket, unique_name},
    exports::open_multipart_uploads,
    faults::{FaultProxy, Faults, Outcome},
    loopback_network, server_env,
};
use object_store::ObjectStoreExt;

struct Setup {
    proxy: FaultProxy,
    bucket: String,
}

async fn setup(seed: u64) -> Setup {
    let bucket = unique_name("retries");
    create_s3_bucket(&bucket).await;
    Setup { proxy: FaultProxy::start(&server_env("BYOB_TEST_S3_ENDPOINT"), seed).await, bucket }
}

fn client(s: &Setup, retries: usize) -> StorageClient {
    let settings = s3::S3AccessKey {
        bucket: s.bucket.clone(),
        prefix: Prefix::parse("prefix", "byob").unwrap(),
        region: "us-east-1".into(),
        endpoint: Some(s.proxy.url()),
        path_style: true,
        access_key_id: "testing-key".into(),
        secret_access_key: Sensitive::new("testing-secret".into()),
        kms_key: None,
    };
    let policy =
        ClientPolicy { retry: RetryPolicy { retries, timeout: Duration::from_secs(60) }, ..Default::default() };
    s3::connect(settings, policy, &loopback_network()).unwrap()
}

#[tokio::test]
async fn a_refused_request_is_tried_as_many_more_times_as_the_operator_allows() {
    let s = setup(1).await;
    let c = client(&s, 2);
    let key = c.key("a.txt").unwrap();
    c.store().put(&key, b"hello".to_vec().into()).await.unwrap();
    s.proxy.set(Faults::refuse_all());
    let before = s.proxy.seen().len();
    let err = c.store().get(&key).await.expect_err("every attempt refused");
    assert_eq!(s.proxy.seen().len() - before, 3, "one attempt and two retries");
    let text = err.to_string();
    assert!(text.contains("500") || text.contains("503"), "{text}");

    let none = client(&s, 0);
    let before = s.proxy.seen().len();
    none.store().get(&key).await.expect_err("refused");
    assert_eq!(s.proxy.seen().len() - before, 1, "`storage.retries = 0` retries nothing");
}

#[tokio::test]
async fn retry_after_is_waited_out_before_the_next_attempt() {
    let s = setup(2).await;
    let c = client(&s, 1);
    let key = c.key("b.txt").unwrap();
    c.store().put(&key, b"hello".to_vec().into()).await.unwrap();
    s.proxy.set(Faults { error_rate: 1.0, slow_down_share: 1.0, retry_after: Some(2), ..Faults::default() });
    let before = s.proxy.seen().len();
    c.store().get(&key).await.expect_err("refused twice");
    let seen = &s.proxy.seen()[before..];
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].outcome, Outcome::Refused(503));
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_secs(2), "the second attempt came {gap:?} after a `Retry-After: 2`");
}

#[tokio::test]
async fn a_download_cut_midway_resumes_and_gives_every_byte() {
    let s = setup(3).await;
    let c = client(&s, 3);
    let key = c.key("c.bin").unwrap();
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    c.store().put(&key, body.clone().into()).await.unwrap();
    s.proxy.set(Faults { reset_rate: 1.0, only: Some("GET /"), max_faults: Some(2), ..Faults::default() });
    // The download and its first resumption are each cut after half their bytes; each resumption asks for the
    // rest with a range.
    let got = c.store().get(&key).await.unwrap().bytes().await;
    s.proxy.set(Faults::default());
    let got = got.expect("resumed to the end");
    assert_eq!(got.len(), body.len());
    assert!(got == body, "the resumed download differs");
    assert_eq!(s.proxy.injected().1, 2, "two bodies were cut");
}

#[tokio::test]
async fn a_completion_whose_answer_was_lost_is_recognised_as_done() {
    let s = setup(4).await;
    let c = client(&s, 3);
    let key = c.key("d.bin").unwrap();
    let part: Vec<u8> = vec![7; 5 << 20];
    let mut writer = c.object_writer(key.clone());
    for _ in 0..3 {
        writer.write(part.clone().into()).await.unwrap();
    }
    // The completion (`POST …?uploadId=`) reaches moto, which completes the upload, but its answer never
    // comes back; the retry finds the upload gone.
    let lost = Faults {
        reset_rate: 1.0,
        lost_answer_share: 1.0,
        only: Some("POST /"),
        max_faults: Some(1),
        ..Faults::default()
    };
    s.proxy.set(lost);
    let size = writer.finish().await;
    s.proxy.set(Faults::default());
    assert_eq!(size.unwrap(), 15 << 20);
    assert_eq!(s.proxy.injected().1, 1, "the completion's answer was lost");
    let stored = c.store().get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(stored.len(), 15 << 20);
    assert_eq!(open_multipart_uploads(&s.bucket).await, 0);
}
