// Which tenant a connection is for, from its startup packet and TLS SNI.
export {
  HOW_TO_IDENTIFY,
  IDENTIFY_SQLSTATE,
  identifyTenant,
  type Identification,
  type IdentifyErrorCode,
  type IdentifyMethod,
} from './identify.js';
