/**
 * The HR records of the demo organisation: E-1001…E-1060, deterministic. The demo users hold the
 * leadership seats (eve.thompson on top); everyone else is generated below them, so the org chart
 * has real managers with direct reports (frank.lee manages five engineers).
 */
import { z } from 'zod';
import { findDemoUser } from '../../demo-users.js';
import { cycle, isoDate } from '../seed.js';

export const DEPARTMENTS = ['HR', 'Finance', 'Sales', 'Support', 'Engineering', 'Executive'] as const;
export type Department = (typeof DEPARTMENTS)[number];

export const employeeSchema = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string(),
  department: z.enum(DEPARTMENTS),
  title: z.string(),
  managerId: z.string().nullable().describe('Employee id of the direct manager; null at the top of the org chart.'),
  salary: z.number().describe('Annual base salary in USD.'),
  location: z.string(),
  startDate: z.string().describe('ISO date (YYYY-MM-DD).'),
});
export type Employee = z.infer<typeof employeeSchema>;

export interface HrStore {
  /** Keyed by employee id; iteration order is id order. */
  readonly employees: Map<string, Employee>;
}

export interface HrView {
  readonly employees: ReadonlyMap<string, Readonly<Employee>>;
}

type Seat = Omit<Employee, 'name' | 'email'> & ({ username: string } | { name: string });

const LEADERSHIP: readonly Seat[] = [
  { id: 'E-1001', username: 'eve.thompson', department: 'Executive', title: 'Chief Executive Officer', managerId: null, salary: 410_000, location: 'New York', startDate: '2012-03-01' },
  { id: 'E-1002', username: 'alice.chen', department: 'HR', title: 'HR Director', managerId: 'E-1001', salary: 182_000, location: 'New York', startDate: '2016-06-13' },
  { id: 'E-1003', username: 'bob.martinez', department: 'Finance', title: 'Finance Director', managerId: 'E-1001', salary: 195_000, location: 'Chicago', startDate: '2015-01-19' },
  { id: 'E-1004', username: 'carol.nguyen', department: 'Sales', title: 'VP Sales', managerId: 'E-1001', salary: 210_000, location: 'Austin', startDate: '2017-09-04' },
  { id: 'E-1005', username: 'dan.okafor', department: 'Support', title: 'Head of Customer Support', managerId: 'E-1001', salary: 158_000, location: 'London', startDate: '2018-02-26' },
  { id: 'E-1006', username: 'frank.lee', department: 'Engineering', title: 'Engineering Manager', managerId: 'E-1007', salary: 176_000, location: 'Remote', startDate: '2019-11-11' },
  { id: 'E-1007', name: 'Priya Raman', department: 'Engineering', title: 'VP Engineering', managerId: 'E-1001', salary: 245_000, location: 'New York', startDate: '2014-07-07' },
  { id: 'E-1008', username: 'ops.admin', department: 'Engineering', title: 'Platform Operations Lead', managerId: 'E-1007', salary: 149_000, location: 'Remote', startDate: '2020-04-20' },
];

interface Team {
  department: Department;
  managerId: string;
  size: number;
  titles: readonly string[];
  baseSalary: number;
}

/** 52 generated staff (E-1009…E-1060); frank.lee's team comes first so his reports are stable. */
const TEAMS: readonly Team[] = [
  { department: 'Engineering', managerId: 'E-1006', size: 5, titles: ['Software Engineer', 'Senior Software Engineer', 'QA Engineer'], baseSalary: 128_000 },
  { department: 'Engineering', managerId: 'E-1007', size: 10, titles: ['Staff Engineer', 'Software Engineer', 'Site Reliability Engineer', 'Product Designer'], baseSalary: 135_000 },
  { department: 'HR', managerId: 'E-1002', size: 6, titles: ['HR Business Partner', 'Recruiter', 'People Operations Specialist', 'Compensation Analyst'], baseSalary: 82_000 },
  { department: 'Finance', managerId: 'E-1003', size: 8, titles: ['Financial Analyst', 'Accountant', 'Accounts Payable Specialist', 'FP&A Manager'], baseSalary: 92_000 },
  { department: 'Sales', managerId: 'E-1004', size: 12, titles: ['Account Executive', 'Sales Development Representative', 'Solutions Engineer', 'Regional Sales Manager'], baseSalary: 88_000 },
  { department: 'Support', managerId: 'E-1005', size: 10, titles: ['Support Engineer', 'Customer Success Manager', 'Support Specialist'], baseSalary: 68_000 },
  { department: 'Executive', managerId: 'E-1001', size: 1, titles: ['Chief of Staff'], baseSalary: 190_000 },
];

const FIRST_NAMES = [
  'Aisha', 'Ben', 'Chloe', 'Diego', 'Elena', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Keiko', 'Liam', 'Maya',
  'Nikhil', 'Olga', 'Pedro', 'Quinn', 'Rosa', 'Sanjay', 'Tessa', 'Umar', 'Vera', 'Wei', 'Ximena', 'Yusuf', 'Zara',
  'Amara', 'Bruno', 'Camila', 'Dmitri', 'Emeka', 'Fatima', 'Gustav', 'Hana', 'Ivan', 'Julia', 'Kofi', 'Lena',
  'Mateo', 'Nora', 'Oscar', 'Paula', 'Rafael', 'Sofia', 'Tomas', 'Uma', 'Victor', 'Wren', 'Yara', 'Zoltan', 'Leila', 'Marcus',
];
const LAST_NAMES = [
  'Abbott', 'Bianchi', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ibrahim', 'Jensen', 'Kowalski',
  'Lindqvist', 'Moreau', 'Novak', "O'Brien", 'Petrov', 'Quintero', 'Rossi', 'Santos', 'Tanaka', 'Usman', 'Varga', 'Walsh',
];
const LOCATIONS = ['New York', 'Chicago', 'Austin', 'London', 'Remote', 'Toronto'];

function emailLocalPart(name: string): string {
  return name.toLowerCase().replace(/'/g, '').replace(/\s+/g, '.');
}

/** A demo user's seat takes name and email from the ONE demo-user table. */
function leader(seat: Seat): Employee {
  if ('name' in seat) return { ...seat, email: `${emailLocalPart(seat.name)}@example.com` };
  const { username, ...record } = seat;
  const user = findDemoUser(username);
  if (user?.employeeId !== record.id) throw new Error(`HR seed seat ${record.id} does not match demo user ${username}`);
  return { ...record, name: user.name, email: user.email };
}

function generatedStaff(): Employee[] {
  const staff: Employee[] = [];
  for (const team of TEAMS) {
    for (let member = 0; member < team.size; member += 1) {
      const n = staff.length;
      const name = `${cycle(FIRST_NAMES, n)} ${cycle(LAST_NAMES, n * 7 + 3)}`;
      staff.push({
        id: `E-${1009 + n}`,
        name,
        email: `${emailLocalPart(name)}@example.com`,
        department: team.department,
        title: cycle(team.titles, member),
        managerId: team.managerId,
        // Spread salaries over a plausible band without randomness, so every run seeds the same data.
        salary: team.baseSalary + ((n * 17) % 37) * 1_000,
        location: cycle(LOCATIONS, n * 5),
        startDate: isoDate(2013 + (n % 12), 1 + ((n * 5) % 12), 1 + ((n * 11) % 28)),
      });
    }
  }
  return staff;
}

/** A fresh copy of the seeded employees, sorted by id. */
export function seedEmployees(): Employee[] {
  return [...LEADERSHIP.map(leader), ...generatedStaff()];
}

export function createHrStore(): HrStore {
  return { employees: new Map(seedEmployees().map((employee) => [employee.id, employee])) };
}
