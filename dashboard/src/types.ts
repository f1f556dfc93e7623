/** The shapes the dashboard reads from the API (field names as in the GraphQL SDL). */

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
  dominantModality?: string;
  textSimulated?: boolean;
}

export interface CallNode {
  id: string;
  tenant: string;
  status: 'ACTIVE' | 'ENDED' | 'TIMED_OUT';
  startedAt: string;
  endedAt: string | null;
  channels: string[];
  segmentCount: number;
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
