import workerpool from 'workerpool';

workerpool.worker({ noop: (x) => x });
