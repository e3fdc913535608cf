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

test("every DOI number matches RFC 2407/4868 and maps back to the same PF_KEY algorithm", () => {
  const esp: Array<[number, number]> = [[EncAlg.DesCbc, 2], [EncAlg.TripleDesCbc, 3], [EncAlg.BlowfishCbc, 7], [EncAlg.Null, 11], [EncAlg.AesCbc, 12]];
  for (const [alg, id] of esp) {
    assert.equal(espTransformId(alg), id);
    assert.equal(encAlgOfEspTransform(id), alg);
  }
  const auth: Array<[number, number, number]> = [
    [AuthAlg.HmacMd5, 1, 2], [AuthAlg.HmacSha1, 2, 3], [AuthAlg.HmacSha256, 5, 5], [AuthAlg.HmacSha384, 6, 6], [AuthAlg.HmacSha512, 7, 7],
  ];
  for (const [alg, attr, ahId] of auth) {
    assert.deepEqual([authAttribute(alg), authAlgOfAttribute(attr)], [attr, alg]);
    assert.deepEqual([ahTransformId(alg), authAlgOfAhTransform(ahId)], [ahId, alg]);
  }
  // ESP_DES_IV64 (1) and AH_DES (4) are DOI numbers with no PF_KEY algorithm here.
  for (const id of [0, 1, 255]) assert.equal(encAlgOfEspTransform(id), undefined);
  for (const id of [0, 4, 255]) assert.equal(authAlgOfAhTransform(id), undefined);
});
