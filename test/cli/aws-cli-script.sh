#!/usr/bin/env bash
# The AWS CLI against `cirrus local start` (test/cli/aws-cli.test.ts runs it): creates, invokes and deletes
# functions whose handlers are in .js, .mjs and .cjs files, and syncs a folder to S3 twice (the second time
# with a changed and a removed file). It is an ordinary shell session of a user, nothing Cirrus-specific:
#   AWS_CLI=aws LAMBDA_ENDPOINT=http://... S3_ENDPOINT=http://... BUCKET=... AWS_ACCESS_KEY_ID=... \
#   AWS_SECRET_ACCESS_KEY=... AWS_DEFAULT_REGION=us-east-1 bash aws-cli-script.sh WORK_FOLDER
# Prints "RESULT <kind> <payload>" per invocation and "LISTED <keys>" after each sync.
set -euo pipefail
aws=${AWS_CLI:-aws}
cd "$1"
# CLI v2 reads --payload as base64 unless told otherwise; v1 takes it raw.
binary=()
if "$aws" --version 2>&1 | grep -q '^aws-cli/2'; then binary=(--cli-binary-format raw-in-base64-out); fi
lambda() { "$aws" --endpoint-url "$LAMBDA_ENDPOINT" lambda "$@"; }
s3() { "$aws" --endpoint-url "$S3_ENDPOINT" s3 "$@"; }

mkdir -p js mjs cjs
echo 'exports.handler = async (event, context) => ({ kind: "js", doubled: event.n * 2, fn: context.functionName });' > js/index.js
echo 'export const handler = async (event, context) => ({ kind: "mjs", doubled: event.n * 2, fn: context.functionName, esm: typeof import.meta.url === "string" });' > mjs/index.mjs
echo 'module.exports.handler = (event, context, callback) => callback(null, { kind: "cjs", doubled: event.n * 2, fn: context.functionName });' > cjs/index.cjs

for kind in js mjs cjs; do
  (cd "$kind" && python3 -m zipfile -c "../$kind.zip" "index.$kind")
  lambda create-function --function-name "cli-$kind" --runtime nodejs20.x --role arn:aws:iam::000000000000:role/cli \
    --handler index.handler --zip-file "fileb://$kind.zip" --query State --output text
  status=$(lambda invoke --function-name "cli-$kind" "${binary[@]}" --payload '{"n":21}' "out-$kind.json" --query StatusCode --output text)
  echo "RESULT $kind $status $(cat "out-$kind.json")"
  lambda delete-function --function-name "cli-$kind"
done
echo "FUNCTIONS $(lambda list-functions --query 'Functions[].FunctionName' --output text)"

mkdir -p site/sub
echo 'first' > site/a.txt
echo 'second' > site/sub/b.txt
head -c 200000 /dev/urandom > site/sub/c.bin
s3 sync site "s3://$BUCKET/cli-sync/" --no-progress
echo "LISTED $(s3 ls --recursive "s3://$BUCKET/cli-sync/" | awk '{print $4}' | sort | tr '\n' ' ')"
echo 'changed' > site/a.txt
rm site/sub/b.txt
s3 sync site "s3://$BUCKET/cli-sync/" --delete --no-progress
echo "LISTED $(s3 ls --recursive "s3://$BUCKET/cli-sync/" | awk '{print $4}' | sort | tr '\n' ' ')"
