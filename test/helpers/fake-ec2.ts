// A stand-in for EC2 and SSM (AWS itself is the one thing tests may mock): the EC2 Query API (form-encoded
// POST, XML answers in the 2016-11-15 namespace, <Response><Errors> errors) for the calls Cirrus sends, and
// SSM's JSON GetParameter. EMULATED: the state machine of instances (pending -> running on the next
// Describe; shutting-down -> terminated on the next Describe), tags and the filters tag:K, tag-key,
// instance-state-name and is-default, DependencyViolation for a group an instance still uses. Not
// emulated: signatures (not checked), networking, real AMIs. Usable without a socket (handle) or over HTTP.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Tag {
  key: string;
  value: string;
}
interface Instance {
  id: string;
  state: string;
  type: string;
  imageId: string;
  groups: string[];
  tags: Tag[];
  userData?: string;
  shutdownBehavior?: string;
}
interface Group {
  id: string;
  name: string;
  vpcId: string;
  tags: Tag[];
  ingress: Array<{ protocol: string; from: number; to: number; cidr: string }>;
}

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export class FakeEc2 {
  readonly instances = new Map<string, Instance>();
  readonly groups = new Map<string, Group>();
  /** Every request: the action and its parameters, in order. */
  readonly requests: Array<{ action: string; params: URLSearchParams }> = [];
  /** Publicly visible address of every instance (the local stand-in runs its server on loopback). */
  publicIp = '127.0.0.1';
  amiId = 'ami-0fake0000000000001';
  private next = 1;
  private server?: http.Server;

  private id(prefix: string): string {
    return `${prefix}-${(this.next++).toString(16).padStart(17, '0')}`;
  }

  /** One EC2 Query request (form body) or SSM JSON request (x-amz-target). */
  handle(body: string, target?: string): { status: number; contentType: string; body: string } {
    if (target) return this.ssm(target, body);
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    this.requests.push({ action, params });
    try {
      if (params.get('Version') !== '2016-11-15') throw new Ec2Error('InvalidParameterValue', `Version ${params.get('Version')}`);
      const inner = this.act(action, params);
      return { status: 200, contentType: 'text/xml', body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NS}"><requestId>req-${this.next++}</requestId>${inner}</${action}Response>` };
    } catch (error) {
      const e = error instanceof Ec2Error ? error : new Ec2Error('InternalError', (error as Error).message);
      return { status: e.code === 'InternalError' ? 500 : 400, contentType: 'text/xml', body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${e.code}</Code><Message>${esc(e.message)}</Message></Error></Errors><RequestID>req-${this.next++}</RequestID></Response>` };
    }
  }

  private ssm(target: string, body: string) {
    const input = JSON.parse(body || '{}') as { Name?: string };
    this.requests.push({ action: `ssm:${target.split('.').pop()}`, params: new URLSearchParams(input as Record<string, string>) });
    if (target !== 'AmazonSSM.GetParameter' || !input.Name?.startsWith('/aws/service/ami-amazon-linux-latest/')) {
      return { status: 400, contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: 'ParameterNotFound', message: `${input.Name}` }) };
    }
    return { status: 200, contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ Parameter: { Name: input.Name, Type: 'String', Value: this.amiId, Version: 1 } }) };
  }

  private act(action: string, p: URLSearchParams): string {
    switch (action) {
      case 'DescribeVpcs':
        return '<vpcSet><item><vpcId>vpc-0default</vpcId><isDefault>true</isDefault><state>available</state></item></vpcSet>';
      case 'DescribeSubnets':
        return `<subnetSet>${list(p, 'SubnetId').map((s) => `<item><subnetId>${esc(s)}</subnetId><vpcId>vpc-0given</vpcId></item>`).join('')}</subnetSet>`;
      case 'CreateSecurityGroup': {
        const name = need(p, 'GroupName');
        need(p, 'GroupDescription');
        if ([...this.groups.values()].some((g) => g.name === name)) throw new Ec2Error('InvalidGroup.Duplicate', `The security group '${name}' already exists`);
        const g: Group = { id: this.id('sg'), name, vpcId: p.get('VpcId') ?? '', tags: tagsOf(p, 'security-group'), ingress: [] };
        this.groups.set(g.id, g);
        return `<return>true</return><groupId>${g.id}</groupId>`;
      }
      case 'AuthorizeSecurityGroupIngress': {
        const g = this.group(need(p, 'GroupId'));
        for (let i = 1; p.has(`IpPermissions.${i}.IpProtocol`); i++) {
          g.ingress.push({ protocol: p.get(`IpPermissions.${i}.IpProtocol`)!, from: Number(p.get(`IpPermissions.${i}.FromPort`)), to: Number(p.get(`IpPermissions.${i}.ToPort`)), cidr: p.get(`IpPermissions.${i}.IpRanges.1.CidrIp`) ?? '' });
        }
        return '<return>true</return>';
      }
      case 'RunInstances': {
        if (p.get('MinCount') !== '1' || p.get('MaxCount') !== '1') throw new Ec2Error('InvalidParameterValue', 'MinCount/MaxCount');
        const groups = [...list(p, 'SecurityGroupId'), ...list(p, 'NetworkInterface.1.SecurityGroupId')];
        for (const g of groups) this.group(g);
        const inst: Instance = {
          id: this.id('i'),
          state: 'pending',
          type: need(p, 'InstanceType'),
          imageId: need(p, 'ImageId'),
          groups,
          tags: tagsOf(p, 'instance'),
          userData: p.get('UserData') ?? undefined,
          shutdownBehavior: p.get('InstanceInitiatedShutdownBehavior') ?? undefined,
        };
        this.instances.set(inst.id, inst);
        return `<reservationId>r-${this.next++}</reservationId><ownerId>000000000000</ownerId><groupSet/><instancesSet>${this.instanceXml(inst)}</instancesSet>`;
      }
      case 'DescribeInstances': {
        const ids = list(p, 'InstanceId');
        for (const id of ids) if (!this.instances.has(id)) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
        const filters = filtersOf(p);
        const found = [...this.instances.values()].filter((i) => (ids.length === 0 || ids.includes(i.id)) && matches(filters, i.tags, { 'instance-state-name': i.state }));
        const xml = found.map((i) => `<item><reservationId>r-1</reservationId><ownerId>000000000000</ownerId><instancesSet>${this.instanceXml(i)}</instancesSet></item>`).join('');
        for (const i of found) i.state = i.state === 'pending' ? 'running' : i.state === 'shutting-down' ? 'terminated' : i.state; // time passes
        return `<reservationSet>${xml}</reservationSet>`;
      }
      case 'TerminateInstances': {
        const ids = list(p, 'InstanceId');
        for (const id of ids) if (!this.instances.has(id)) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
        const xml = ids
          .map((id) => {
            const i = this.instances.get(id)!;
            const prev = i.state;
            if (i.state !== 'terminated') i.state = 'shutting-down';
            return `<item><instanceId>${id}</instanceId><currentState><code>32</code><name>${i.state}</name></currentState><previousState><code>16</code><name>${prev}</name></previousState></item>`;
          })
          .join('');
        return `<instancesSet>${xml}</instancesSet>`;
      }
      case 'DescribeSecurityGroups': {
        const filters = filtersOf(p);
        const found = [...this.groups.values()].filter((g) => matches(filters, g.tags, {}));
        return `<securityGroupInfo>${found.map((g) => `<item><ownerId>000000000000</ownerId><groupId>${g.id}</groupId><groupName>${esc(g.name)}</groupName><vpcId>${g.vpcId}</vpcId>${tagSetXml(g.tags)}</item>`).join('')}</securityGroupInfo>`;
      }
      case 'DeleteSecurityGroup': {
        const g = this.group(need(p, 'GroupId'));
        const user = [...this.instances.values()].find((i) => i.groups.includes(g.id) && i.state !== 'terminated');
        if (user) throw new Ec2Error('DependencyViolation', `resource ${g.id} has a dependent object (${user.id})`);
        this.groups.delete(g.id);
        return `<return>true</return><groupId>${g.id}</groupId>`;
      }
      default:
        throw new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  private group(id: string): Group {
    const g = this.groups.get(id);
    if (!g) throw new Ec2Error('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
    return g;
  }

  private instanceXml(i: Instance): string {
    const code = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 }[i.state] ?? 0;
    return `<item><instanceId>${i.id}</instanceId><imageId>${i.imageId}</imageId><instanceState><code>${code}</code><name>${i.state}</name></instanceState><instanceType>${i.type}</instanceType>${i.state === 'running' ? `<ipAddress>${this.publicIp}</ipAddress>` : ''}<groupSet>${i.groups.map((g) => `<item><groupId>${g}</groupId></item>`).join('')}</groupSet>${tagSetXml(i.tags)}</item>`;
  }

  /** Live (not terminated) instances and the groups left. */
  leftovers(): { instances: string[]; groups: string[] } {
    return { instances: [...this.instances.values()].filter((i) => i.state !== 'terminated').map((i) => i.id), groups: [...this.groups.keys()] };
  }

  async listen(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const out = this.handle(Buffer.concat(chunks).toString('utf8'), req.headers['x-amz-target'] as string | undefined);
        res.writeHead(out.status, { 'content-type': out.contentType });
        res.end(out.body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

class Ec2Error extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

function need(p: URLSearchParams, name: string): string {
  const v = p.get(name);
  if (v === null || v === '') throw new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);
  return v;
}

/** EC2 Query lists: Name.1, Name.2, ... */
function list(p: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; p.has(`${name}.${i}`); i++) out.push(p.get(`${name}.${i}`)!);
  return out;
}

function tagsOf(p: URLSearchParams, resourceType: string): Tag[] {
  for (let i = 1; p.has(`TagSpecification.${i}.ResourceType`); i++) {
    if (p.get(`TagSpecification.${i}.ResourceType`) !== resourceType) continue;
    const tags: Tag[] = [];
    for (let j = 1; p.has(`TagSpecification.${i}.Tag.${j}.Key`); j++) tags.push({ key: p.get(`TagSpecification.${i}.Tag.${j}.Key`)!, value: p.get(`TagSpecification.${i}.Tag.${j}.Value`) ?? '' });
    return tags;
  }
  return [];
}

function filtersOf(p: URLSearchParams): Array<{ name: string; values: string[] }> {
  const out: Array<{ name: string; values: string[] }> = [];
  for (let i = 1; p.has(`Filter.${i}.Name`); i++) out.push({ name: p.get(`Filter.${i}.Name`)!, values: list(p, `Filter.${i}.Value`) });
  return out;
}

function matches(filters: Array<{ name: string; values: string[] }>, tags: Tag[], fields: Record<string, string>): boolean {
  return filters.every((f) => {
    if (f.name === 'tag-key') return tags.some((t) => f.values.includes(t.key));
    if (f.name.startsWith('tag:')) return tags.some((t) => t.key === f.name.slice(4) && f.values.includes(t.value));
    if (f.name in fields) return f.values.includes(fields[f.name]);
    throw new Ec2Error('InvalidParameterValue', `The filter '${f.name}' is invalid`);
  });
}

function tagSetXml(tags: Tag[]): string {
  return `<tagSet>${tags.map((t) => `<item><key>${esc(t.key)}</key><value>${esc(t.value)}</value></item>`).join('')}</tagSet>`;
}
