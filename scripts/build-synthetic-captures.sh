#!/usr/bin/env bash
# Rewrites the synthetic captures in captures/ from their descriptions in test/builders/synthetic-captures.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
UPDATE_CAPTURES=1 npx vitest run test/captures-synthetic.test.ts
