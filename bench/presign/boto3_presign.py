"""Presigns N GET URLs for distinct keys with boto3 (the peer) and prints the rate, same inputs as byob."""
import sys
import time

import boto3
from botocore.config import Config

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
client = boto3.client(
    "s3",
    endpoint_url="http://127.0.0.1:9000",
    region_name="us-east-1",
    aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
    aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
)
keys = [f"tenants/acme/uploads/2026/11/22/upl_{i:08}/data.csv" for i in range(n)]
started = time.perf_counter()
total = 0
for key in keys:
    total += len(client.generate_presigned_url("get_object", Params={"Bucket": "bench-bucket", "Key": key}, ExpiresIn=900))
secs = time.perf_counter() - started
print(f"boto3\t{n}\t{secs:.3f}\t{n / secs:.0f}\t{total // n}")
