/**
 * Tells the window stage which partitions this instance owns, without reaching into the chunk
 * source: the source builds its consumer from the Kafka client it is given, so the app hands it
 * this view of the client, whose `consumer()` also reports every group join's assignment.
 */
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';

/** Partitions as "topic/partition" keys (the form PartitionedWindow.assign takes). */
export function assignmentKeys(assignment: Record<string, number[]>): string[] {
  return Object.entries(assignment).flatMap(([topic, parts]) => parts.map((p) => `${topic}/${p}`));
}

/** The same client; consumers it builds call `onAssign` with their assignment after each join. */
export function observeAssignments(kafka: Kafka, onAssign: (partitions: string[]) => void): Kafka {
  return new Proxy(kafka, {
    get(target, prop) {
      if (prop === 'consumer') {
        return (config: ConsumerConfig): Consumer => {
          const c = target.consumer(config);
          c.on(c.events.GROUP_JOIN, (e) => onAssign(assignmentKeys(e.payload.memberAssignment)));
          return c;
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
