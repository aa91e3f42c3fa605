// WAMP v2 message type codes.
export const MessageType = {
  HELLO: 1,
  WELCOME: 2,
  ABORT: 3,
  CHALLENGE: 4,
  AUTHENTICATE: 5,
  GOODBYE: 6,
  ERROR: 8,
  PUBLISH: 16,
  PUBLISHED: 17,
  SUBSCRIBE: 32,
  SUBSCRIBED: 33,
  UNSUBSCRIBE: 34,
  UNSUBSCRIBED: 35,
  EVENT: 36,
  CALL: 48,
  CANCEL: 49,
  RESULT: 50,
  REGISTER: 64,
  REGISTERED: 65,
  UNREGISTER: 66,
  UNREGISTERED: 67,
  INVOCATION: 68,
  INTERRUPT: 69,
  YIELD: 70,
} as const;

/** What the router announces in WELCOME.Details.roles. */
export const routerRoles = {
  broker: {
    features: {
      publisher_identification: true,
      publisher_exclusion: true,
      subscriber_blackwhite_listing: true,
      pattern_based_subscription: true,
      subscription_meta_api: true,
      session_meta_api: true,
      event_retention: true,
      testament_meta_api: true,
      payload_passthru_mode: false,
    },
  },
  dealer: {
    features: {
      caller_identification: true,
      pattern_based_registration: true,
      shared_registration: true,
      call_timeout: true,
      call_canceling: true,
      progressive_call_results: true,
      progressive_call_invocations: true,
      registration_meta_api: true,
      session_meta_api: true,
      testament_meta_api: true,
    },
  },
} as const;
