// The Lambda SDK values the SQL probe invocation uses, imported dynamically (bundle: a lazy chunk).
export { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
