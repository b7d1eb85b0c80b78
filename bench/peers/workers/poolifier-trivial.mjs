// The poolifier peer of tasks-throughput: a trivial task that answers its input.
import { ThreadWorker } from 'poolifier';

export default new ThreadWorker((payload) => payload);
