/** End-to-end messages from MCUs over the device server's mutual-TLS connections. */
export {
  judgeEnvelope,
  messageEndpoint,
  answerLine,
  MIN_FRAME,
  MAX_FRAME,
  type Verdict,
  type MessageDecision,
  type MessageRejectReason,
  type EndToEndServerKey,
  type AcceptedMessage,
  type MessageEndpointOptions,
} from './message-endpoint.ts';
