import { SimulatedAwsError } from '../aws-errors.js';
import type { Alert, Caller, World } from '../world.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** Amazon SNS in the central account: the alert topic; what is published is kept as the alerts sent. */
export class Sns {
  readonly alerts: Alert[] = [];

  constructor(private readonly world: World) {}

  publish(caller: Caller, input: { TopicArn?: string; Subject?: string; Message?: string }) {
    if (
      !input.TopicArn ||
      !this.world.settings.topics.includes(input.TopicArn) ||
      caller.account !== this.world.settings.centralAccount
    ) {
      throw new SimulatedAwsError('NotFoundException', `Topic does not exist: ${input.TopicArn}`);
    }
    this.alerts.push({
      topicArn: input.TopicArn,
      subject: input.Subject ?? '',
      message: input.Message ?? '',
      at: iso(this.world.clock.now),
    });
    return { MessageId: this.world.random.uuid() };
  }
}
