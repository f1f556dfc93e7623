/** The Kafka adapter: one client, one managed consumer, one producer wrapper, one admin helper. */
export * from './client.js';
export * from './producer.js';
export * from './admin.js';
export * from './managed-consumer.js';
