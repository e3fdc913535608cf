/**
 * Security Association payload — RFC 2408 §3.4, IPsec DOI situation RFC 2407 §4.6.1.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !              Domain of Interpretation  (DOI)                  !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                           Situation                           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                     Proposal payloads ...                     ~
 *
 * Only SIT_IDENTITY_ONLY is accepted: SIT_SECRECY/SIT_INTEGRITY add labelled-domain fields
 * (RFC 2407 §4.6.1) that no deployed peer sends and in.iked, strongSwan and Libreswan all refuse.
 * The SA body (without the generic header) is SAi_b of RFC 2409 §5: see `raw.body`.
 */
import { spec, u32, chain, at } from "../fields.js";
import { decodeError } from "../errors.js";
import { Doi, PayloadType, Situation } from "../constants.js";
import { proposalSpec, type ProposalPayload } from "./proposal.js";
import type { PayloadBase } from "./payload.js";

/** Most proposals one SA payload may carry. */
export const MAX_PROPOSALS = 64;

/** SA payload. */
export interface SaPayload extends PayloadBase {
  readonly type: typeof PayloadType.SA;
  readonly doi: number;
  readonly situation: number;
  readonly proposals: readonly ProposalPayload[];
}

/** Layout of an SA body. */
export const saSpec = spec(
  "SA",
  [
    u32("doi", Doi),
    u32("situation", Situation),
    chain("proposals", {
      payloadType: PayloadType.Proposal,
      item: proposalSpec,
      max: MAX_PROPOSALS,
      tooMany: "IKE_ERR_TOO_MANY_PROPOSALS",
      orderField: "proposalNumber",
    }),
  ],
  {
    verifyPrefix(sa: SaPayload, bodyStart, _ctx, s) {
      // RFC 2408 §3.4: DOI 0 is a generic phase 1 SA; RFC 2407: 1 is IPsec. Nothing else exists here.
      if (sa.doi !== Doi.Isakmp && sa.doi !== Doi.Ipsec) {
        return decodeError("IKE_ERR_DOI_NOT_SUPPORTED", at(s, bodyStart, "doi"), PayloadType.SA, `DOI ${sa.doi}`);
      }
      if (sa.situation !== Situation.IdentityOnly) {
        return decodeError("IKE_ERR_SITUATION_NOT_SUPPORTED", at(s, bodyStart, "situation"), PayloadType.SA, `situation ${sa.situation}`);
      }
      return null;
    },
  },
);
