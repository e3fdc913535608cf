import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthAlg, EncAlg } from "../../src/kernel/algorithms.js";
import { ahTransformId, authAlgOfAhTransform, authAlgOfAttribute, authAttribute, encAlgOfEspTransform, espTransformId, needsKeyLength } from "../../src/policy/doi.js";

test("PF_KEY algorithm numbers map to IPsec DOI values and back", () => {
  assert.equal(espTransformId(EncAlg.AesCbc), 12);
  assert.equal(espTransformId(EncAlg.TripleDesCbc), 3);
  assert.equal(espTransformId(99), undefined);
  assert.equal(encAlgOfEspTransform(12), EncAlg.AesCbc);
  assert.deepEqual([AuthAlg.HmacMd5, AuthAlg.HmacSha1, AuthAlg.HmacSha256, AuthAlg.HmacSha512].map(authAttribute), [1, 2, 5, 7]);
  assert.deepEqual([1, 2, 5, 7, 42].map(authAlgOfAttribute), [AuthAlg.HmacMd5, AuthAlg.HmacSha1, AuthAlg.HmacSha256, AuthAlg.HmacSha512, undefined]);
  assert.deepEqual([AuthAlg.HmacMd5, AuthAlg.HmacSha1, AuthAlg.AesXcbcMac].map(ahTransformId), [2, 3, undefined]);
  assert.equal(authAlgOfAhTransform(3), AuthAlg.HmacSha1);
  assert.deepEqual([EncAlg.AesCbc, EncAlg.BlowfishCbc, EncAlg.TripleDesCbc].map(needsKeyLength), [true, true, false]);
});
