import { hostname, userInfo } from 'node:os'

/** Who is deploying: the CI job from the usual CI variables, else user@host. Pure given env. */
export function describeActor(env: NodeJS.ProcessEnv, user: string, host: string): string {
  if (env.GITHUB_ACTIONS) return `github ${env.GITHUB_REPOSITORY ?? ''} run ${env.GITHUB_RUN_ID ?? '?'} (${env.GITHUB_ACTOR ?? user})`.replace(/\s+/g, ' ')
  if (env.GITLAB_CI) return `gitlab ${env.CI_PROJECT_PATH ?? ''} job ${env.CI_JOB_ID ?? '?'} (${env.GITLAB_USER_LOGIN ?? user})`.replace(/\s+/g, ' ')
  if (env.JENKINS_URL || env.BUILD_TAG) return `jenkins ${env.JOB_NAME ?? ''} #${env.BUILD_NUMBER ?? '?'}`.replace(/\s+/g, ' ')
  if (env.BUILDKITE) return `buildkite ${env.BUILDKITE_PIPELINE_SLUG ?? ''} #${env.BUILDKITE_BUILD_NUMBER ?? '?'}`
  if (env.CIRCLECI) return `circleci ${env.CIRCLE_PROJECT_REPONAME ?? ''} #${env.CIRCLE_BUILD_NUM ?? '?'}`
  return `${user}@${host}`
}

export function currentActor(env: NodeJS.ProcessEnv = process.env): string {
  let user = env.USER ?? 'unknown'
  try {
    user = userInfo().username
  } catch {
    // no passwd entry (some containers): keep $USER
  }
  return describeActor(env, user, hostname())
}
