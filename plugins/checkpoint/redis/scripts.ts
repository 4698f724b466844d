/**
 * The Lua scripts of the Redis checkpoint store, and the key layout they share with the
 * TypeScript side. A Lua script runs atomically, so one batch (every write of a group commit)
 * is applied all at once and no other client sees half of it.
 *
 * Key layout, every key under `<prefix>:` (P):
 *   P:{runId}:run          hash: one field per RunRecord field, each value JSON text
 *   P:{runId}:tasks        list: task ids in insertion order (what getTasks returns)
 *   P:{runId}:task:<id>    hash: one field per TaskRecord field (but runId/taskId), JSON text
 *   P:{runId}:seq          counter: the last seq given to an event of the run
 *   P:{runId}:events       stream: entry id `<seq>-0`, one field `e` (the event as JSON)
 *   P:runs                 sorted set of run ids, score -createdAt (newest first, ties by id)
 *   P:runs:status:<s>      the same, runs of status s
 *   P:runs:wf:<n>:<name>   the same, runs of workflow <name> (n = its byte length, so names
 *   P:runs:wf:<n>:<name>:status:<s>   holding ':' cannot collide), and of both
 *   P:fences               hash: shard -> epoch of its current owner
 *
 * The `{runId}` hash tag puts all keys of a run in one Redis Cluster slot. The scripts build
 * keys from the prefix instead of declaring them in KEYS, and a batch touches several runs and
 * the global indexes, so they need a standalone Redis (or a proxy that keeps the whole prefix on
 * one node); on a Cluster a batch would have to be split per slot (not done).
 */

/** Key of a per-run key, as the scripts build it. */
export function runKey(prefix: string, runId: string, suffix: string): string {
  return `${prefix}:{${runId}}:${suffix}`;
}

/** The sorted set `listRuns` reads for a query. */
export function indexKey(prefix: string, status?: string, workflowName?: string): string {
  let key = `${prefix}:runs`;
  if (workflowName !== undefined) key += `:wf:${Buffer.byteLength(workflowName)}:${workflowName}`;
  if (status !== undefined) key += `:status:${status}`;
  return key;
}

/**
 * Applies one batch of writes. ARGV[1] is the prefix; then each write as `kind, args...`, lists
 * given as a count followed by their items. Returns one reply per write:
 * `ok | won | lost | exists | missing | fenced:<current epoch>`.
 *
 *   C runId status workflowName createdAt nFields (field value)* nTasks taskId*     createRun
 *   A runId nTasks (taskId spec|'')*                                                addTasks
 *   R runId event taskRunId|'' taskId|'' nFields (field value)*                     record
 *   K runId taskId attempt shard|'' epoch event nFields (field value)*              completeTask
 *   F shard epoch                                                                   fenceShard
 *   U runId nFields (field value)*                                                  updateRun
 *   Z runId nTasks taskId*                                                          resetTasks
 */
export const BATCH_SCRIPT = `
local P = ARGV[1]
local i = 2
local function arg() local v = ARGV[i]; i = i + 1; return v end
local function pairs_list() local n = tonumber(arg()); local t = {}
  for _ = 1, 2 * n do t[#t + 1] = arg() end; return t end
local function list() local n = tonumber(arg()); local t = {}
  for _ = 1, n do t[#t + 1] = arg() end; return t end
local function rk(run, suffix) return P .. ':{' .. run .. '}:' .. suffix end
local function append(run, event)
  local seq = redis.call('INCR', rk(run, 'seq'))
  redis.call('XADD', rk(run, 'events'), string.format('%d-0', seq), 'e', event)
end
local function score(created)
  if string.sub(created, 1, 1) == '-' then return string.sub(created, 2) end
  return '-' .. created
end
local function indexes(status, wf)
  local w = P .. ':runs:wf:' .. string.len(wf) .. ':' .. wf
  return { P .. ':runs', P .. ':runs:status:' .. status, w, w .. ':status:' .. status }
end
local function fenced(shard, epoch)
  if shard == '' then return nil end
  local current = redis.call('HGET', P .. ':fences', shard)
  if current and tonumber(epoch) < tonumber(current) then return 'fenced:' .. current end
  return nil
end
local function add_task(run, task, spec)
  local key = rk(run, 'task:' .. task)
  if redis.call('EXISTS', key) == 1 then return end
  if spec ~= nil and spec ~= '' then
    redis.call('HSET', key, 'status', '"pending"', 'attempt', '0', 'spec', spec)
  else
    redis.call('HSET', key, 'status', '"pending"', 'attempt', '0')
  end
  redis.call('RPUSH', rk(run, 'tasks'), task)
end

local out = {}
while i <= #ARGV do
  local kind = arg()
  if kind == 'C' then
    local run, status, wf, created = arg(), arg(), arg(), arg()
    local fields, tasks = pairs_list(), list()
    if redis.call('EXISTS', rk(run, 'run')) == 1 then
      out[#out + 1] = 'exists'
    else
      redis.call('HSET', rk(run, 'run'), unpack(fields))
      for _, key in ipairs(indexes(status, wf)) do redis.call('ZADD', key, score(created), run) end
      for _, task in ipairs(tasks) do add_task(run, task, nil) end
      out[#out + 1] = 'ok'
    end
  elseif kind == 'A' then
    local run = arg()
    local tasks = pairs_list()
    if redis.call('EXISTS', rk(run, 'run')) == 0 then
      out[#out + 1] = 'missing'
    else
      for j = 1, #tasks, 2 do add_task(run, tasks[j], tasks[j + 1]) end
      out[#out + 1] = 'ok'
    end
  elseif kind == 'R' then
    local run, event, task_run, task = arg(), arg(), arg(), arg()
    local fields = pairs_list()
    append(run, event)
    -- Like an UPDATE that matches no row: tasks only come into being through createRun/addTasks.
    if task ~= '' and #fields > 0 and redis.call('EXISTS', rk(task_run, 'task:' .. task)) == 1 then
      redis.call('HSET', rk(task_run, 'task:' .. task), unpack(fields))
    end
    out[#out + 1] = 'ok'
  elseif kind == 'K' then
    local run, task, attempt, shard, epoch, event = arg(), arg(), arg(), arg(), arg(), arg()
    local fields = pairs_list()
    local refused = fenced(shard, epoch)
    local key = rk(run, 'task:' .. task)
    if refused then
      out[#out + 1] = refused
    elseif redis.call('EXISTS', key) == 0 then
      out[#out + 1] = 'lost'
    else
      local state = redis.call('HMGET', key, 'status', 'attempt')
      if state[1] == '"succeeded"' or state[2] ~= attempt then
        out[#out + 1] = 'lost'
      else
        redis.call('HSET', key, unpack(fields))
        redis.call('HDEL', key, 'error')
        append(run, event)
        out[#out + 1] = 'won'
      end
    end
  elseif kind == 'F' then
    local shard, epoch = arg(), arg()
    local refused = fenced(shard, epoch)
    if refused then
      out[#out + 1] = refused
    else
      redis.call('HSET', P .. ':fences', shard, epoch)
      out[#out + 1] = 'ok'
    end
  elseif kind == 'U' then
    local run = arg()
    local fields = pairs_list()
    local key = rk(run, 'run')
    if redis.call('EXISTS', key) == 0 then
      out[#out + 1] = 'missing'
    else
      local old = redis.call('HMGET', key, 'status', 'workflowName', 'createdAt')
      if #fields > 0 then redis.call('HSET', key, unpack(fields)) end
      local new = redis.call('HMGET', key, 'status', 'workflowName', 'createdAt')
      if new[1] ~= old[1] or new[2] ~= old[2] or new[3] ~= old[3] then
        for _, k in ipairs(indexes(cjson.decode(old[1]), cjson.decode(old[2]))) do
          redis.call('ZREM', k, run)
        end
        for _, k in ipairs(indexes(cjson.decode(new[1]), cjson.decode(new[2]))) do
          redis.call('ZADD', k, score(new[3]), run)
        end
      end
      out[#out + 1] = 'ok'
    end
  elseif kind == 'Z' then
    local run = arg()
    local tasks = list()
    if redis.call('EXISTS', rk(run, 'run')) == 0 then
      out[#out + 1] = 'missing'
    else
      for _, task in ipairs(tasks) do
        local key = rk(run, 'task:' .. task)
        if redis.call('EXISTS', key) == 1 then
          redis.call('HSET', key, 'status', '"pending"')
          redis.call('HDEL', key, 'outputs', 'error', 'finishedAt', 'startedAt', 'readyAt', 'deadlineMissed')
        end
      end
      out[#out + 1] = 'ok'
    end
  else
    return redis.error_reply('smartqueue: unknown batch write kind ' .. tostring(kind))
  end
end
return out
`;

/**
 * One page of a run index: ARGV = key, count, afterScore|'', afterRunId. Returns up to `count`
 * run ids after the cursor, in index order (score, then id bytewise: Redis' own order).
 */
export const LIST_SCRIPT = `
local key, want, after_score, after_id = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local function byte_lt(a, b)
  local n = math.min(#a, #b)
  for j = 1, n do
    local x, y = string.byte(a, j), string.byte(b, j)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local out = {}
local min = '-inf'
if after_score ~= '' then min = after_score end
local offset = 0
while #out < want do
  local page = redis.call('ZRANGEBYSCORE', key, min, '+inf', 'WITHSCORES', 'LIMIT', offset, 256)
  if #page == 0 then break end
  for j = 1, #page, 2 do
    local id, s = page[j], page[j + 1]
    if after_score == '' or tonumber(s) > tonumber(after_score) or byte_lt(after_id, id) then
      out[#out + 1] = id
      if #out >= want then break end
    end
  end
  offset = offset + 256
end
return out
`;
