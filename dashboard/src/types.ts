/** The shapes the dashboard reads from the API (field names as in the GraphQL SDL). */

export type TextSource = 'PLATFORM' | 'RECOGNISED' | 'SIMULATED' | 'NONE';

export type Label = 'NEGATIVE' | 'NEUTRAL' | 'POSITIVE';

export interface Score {
  callId: string;
  channel: string;
  segmentIndex: number;
  revision: number;
  startMs: number;
  endMs: number;
  valence: number;
  label: Label;
  textMissing: boolean;
  modalities: { text: string; audio: string; video: string };
  modalityWeights: { text: number; audio: number; video: number };
  text: string | null;
  /** Where the text the model read came from (SDL TextSource). */
  textSource: TextSource;
  /** The recogniser's words when textSource is RECOGNISED, else null. */
  recognisedText: string | null;
  dominantModality?: string;
  textSimulated?: boolean;
  /** When the server scored it (ISO); the scores subscription asks for it: it is the resume point. */
  scoredAt?: string;
}

export interface CallNode {
  id: string;
  tenant: string;
  status: 'ACTIVE' | 'ENDED' | 'TIMED_OUT';
  startedAt: string;
  endedAt: string | null;
  channels: string[];
  segmentCount: number;
  /** Only when the server's schema has Call.displayName (see features.ts). */
  displayName?: string | null;
}

export interface Alert {
  id: string;
  callId: string;
  channel: string;
  rule: 'ROLLING_BELOW' | 'SUSTAINED_NEGATIVE' | 'SHARP_DROP';
  segmentIndex: number;
  valence: number;
  message: string;
  eventTimeMs: number;
  raisedAt: string;
}

export interface ChannelAnalytics {
  channel: string;
  segments: number;
  meanValence: number;
  minValence: number;
  maxValence: number;
  rollingValence: number;
  rollingWindow: number;
  trend: number | null;
  textMissingShare: number;
}

/** Call.analytics.talk (schema/analytics.graphql TalkAnalytics); times in ms, shares 0..1. */
export interface TalkAnalytics {
  spanMs: number;
  nonTalkShare: number;
  overlapMs: number;
  channels: ChannelTalk[];
}

export interface ChannelTalk {
  channel: string;
  talkTimeMs: number;
  talkShare: number;
  silenceShare: number;
  overlapMs: number;
  interruptions: number;
  words: number;
  /** null when no words are known for the channel. */
  wordsPerMinute: number | null;
  /** dBFS; null without speech. */
  meanDbfs: number | null;
  peakDbfs: number | null;
}
