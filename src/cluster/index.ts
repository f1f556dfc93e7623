/** Several instances on one Kafka cluster: scores-topic fan-out, partition hand-over, consumer lag. */
export { ScoresBridge, type ScoresBridgeOptions, type BridgeStats, type LocalFanOut, type LocalAlertFanOut } from './scores-bridge.js';
export { PartitionedWindow, type PartitionedWindowOptions, type PartitionWindower } from './partitioned-window.js';
export { recoverCall, type CallPosition, type ChannelPosition } from './recovery.js';
export { LagSampler, sampleLag, type PartitionLag } from './lag.js';
export { Outbox, type OutboxOptions, type OutboxRecord } from './outbox.js';
export { encodeScoresEvent, decodeScoresEvent, type ScoresEvent } from './scores-codec.js';
